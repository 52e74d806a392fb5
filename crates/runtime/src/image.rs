//! From an image reference to the executable that plays it.
//!
//! The process runtime runs no images; it runs a program that stands for one. Resolution order:
//! 1. the explicit map, by the exact image string (`repo/name:1.2`);
//! 2. the explicit map, by the image without tag and digest (`repo/name`);
//! 3. the image's last path segment without tag and digest (`name`) as an executable file in each
//!    search directory, in order (berth puts its own directory first);
//! 4. the same name on `PATH`, if enabled.
//!
//! The reference parsing here is pure; only [`Resolver`] touches the file system.

use std::collections::BTreeMap;
use std::ffi::OsStr;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

/// The image without its digest (`@sha256:...`) and tag (`:1.2`).
///
/// A `:` before the last `/` is a registry port, not a tag: `localhost:5000/a/b:tag` →
/// `localhost:5000/a/b`.
pub fn repository(image: &str) -> &str {
    let without_digest = image.split_once('@').map_or(image, |(repo, _)| repo);
    let last_segment_start = without_digest.rfind('/').map_or(0, |i| i + 1);
    match without_digest[last_segment_start..].rfind(':') {
        Some(colon) => &without_digest[..last_segment_start + colon],
        None => without_digest,
    }
}

/// The name of the executable that stands for `image`: its last path segment without tag or
/// digest (`public.ecr.aws/x/user-svc:1.0` → `user-svc`).
pub fn executable_name(image: &str) -> &str {
    let repo = repository(image);
    repo.rfind('/').map_or(repo, |i| &repo[i + 1..])
}

/// The reference as a container engine would pull it: registry host and tag filled in
/// (`nginx` → `docker.io/library/nginx:latest`, `me/app` → `docker.io/me/app:latest`). Only used in
/// messages, so they read like the pull errors users already know.
pub fn canonical_reference(image: &str) -> String {
    let repo = repository(image);
    let suffix = &image[repo.len()..];
    let suffix = if suffix.is_empty() { ":latest" } else { suffix };
    let host = match repo.split_once('/') {
        None => "docker.io/library/",
        Some((first, _)) if first.contains(['.', ':']) || first == "localhost" => "",
        Some(_) => "docker.io/",
    };
    format!("{host}{repo}{suffix}")
}

/// Whether `path` is a regular file (after symlinks) with an execute bit set.
pub fn is_executable(path: &Path) -> bool {
    path.metadata().is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

/// Finds executables for images and entry points. Built from the runtime configuration.
#[derive(Debug, Clone, Default)]
pub struct Resolver {
    /// Explicit image → executable mappings (`berth.toml [images]`, `--image NAME=PATH`).
    pub image_map: BTreeMap<String, PathBuf>,
    /// Directories searched by executable name, in order.
    pub search_dirs: Vec<PathBuf>,
    /// Whether an image's executable name is also looked up on `PATH`.
    pub search_path: bool,
}

impl Resolver {
    /// The executable for `image`. `path_var` is the `PATH` to search (berth's own), used only if
    /// [`Resolver::search_path`] is set. The error is a complete stop reason for the task.
    pub fn image(&self, image: &str, path_var: Option<&OsStr>) -> Result<PathBuf, String> {
        let pull_error = |detail: String| {
            format!(
                "CannotPullContainerError: pull image manifest has been retried 1 time(s): \
                 failed to resolve ref {}: {detail}",
                canonical_reference(image)
            )
        };
        let repo = repository(image);
        if let Some(mapped) = self.image_map.get(image).or_else(|| self.image_map.get(repo)) {
            return if is_executable(mapped) {
                Ok(mapped.clone())
            } else {
                Err(pull_error(format!(
                    "berth maps this image to {}, which is not an executable file; \
                     fix the mapping (berth.toml [images] or --image NAME=PATH)",
                    mapped.display()
                )))
            };
        }
        let name = executable_name(image);
        let path_var = if self.search_path { path_var } else { None };
        if let Some(found) = self.find(name, path_var) {
            return Ok(found);
        }
        let mut places = Vec::new();
        if !self.search_dirs.is_empty() {
            let dirs: Vec<String> = self.search_dirs.iter().map(|d| d.display().to_string()).collect();
            places.push(format!("beside berth ({})", dirs.join(", ")));
        }
        if self.search_path {
            places.push("on PATH".to_string());
        }
        let places = if places.is_empty() {
            "anywhere (no search directories and PATH lookup is off)".to_string()
        } else {
            places.join(" or ")
        };
        Err(pull_error(format!(
            "berth found no executable \"{name}\" {places}, and no mapping for this image \
             (berth.toml [images] or --image NAME=PATH); map the image to a program with \
             --image {repo}=/path/to/program, or put an executable named \"{name}\" beside berth"
        )))
    }

    /// The executable for an entry point's first word. A word with a `/` is a path (relative ones
    /// against `cwd`); otherwise it is looked up like an image name (explicit map, search
    /// directories), then on `path_var` (the task's `PATH`), as a shell inside the container would.
    pub fn entry_point(
        &self,
        program: &str,
        path_var: Option<&OsStr>,
        cwd: &Path,
    ) -> Result<PathBuf, String> {
        let not_found = |detail: &str| format!("CannotStartContainerError: exec: \"{program}\": {detail}");
        if program.contains('/') {
            let path = cwd.join(program);
            return if is_executable(&path) { Ok(path) } else { Err(not_found("no such executable file")) };
        }
        if let Some(mapped) = self.image_map.get(program) {
            return if is_executable(mapped) {
                Ok(mapped.clone())
            } else {
                Err(not_found(&format!(
                    "berth maps it to {}, which is not an executable file",
                    mapped.display()
                )))
            };
        }
        self.find(program, path_var).ok_or_else(|| {
            not_found("executable file not found beside berth, in berth's image mappings, or in $PATH")
        })
    }

    /// `name` in the search directories, then in the directories of `path_var`.
    fn find(&self, name: &str, path_var: Option<&OsStr>) -> Option<PathBuf> {
        if name.is_empty() || name == "." || name == ".." {
            return None;
        }
        let path_dirs = path_var.map(std::env::split_paths).into_iter().flatten();
        self.search_dirs
            .iter()
            .cloned()
            .chain(path_dirs)
            .map(|dir| dir.join(name))
            .find(|candidate| is_executable(candidate))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs;

    #[test]
    fn image_names_resolve_to_their_last_segment_without_tag_or_digest() {
        let table = [
            // (image, repository, executable name, canonical reference)
            (
                "phamtrongnghia1105/product-svc",
                "phamtrongnghia1105/product-svc",
                "product-svc",
                "docker.io/phamtrongnghia1105/product-svc:latest",
            ),
            (
                "public.ecr.aws/x/user-svc:1.0",
                "public.ecr.aws/x/user-svc",
                "user-svc",
                "public.ecr.aws/x/user-svc:1.0",
            ),
            ("localhost:5000/a/b:tag", "localhost:5000/a/b", "b", "localhost:5000/a/b:tag"),
            ("localhost:5000/a/b", "localhost:5000/a/b", "b", "localhost:5000/a/b:latest"),
            ("localhost/b", "localhost/b", "b", "localhost/b:latest"),
            ("nginx", "nginx", "nginx", "docker.io/library/nginx:latest"),
            ("nginx:latest", "nginx", "nginx", "docker.io/library/nginx:latest"),
            ("me/app@sha256:abcd", "me/app", "app", "docker.io/me/app@sha256:abcd"),
            ("me/app:1.2@sha256:abcd", "me/app", "app", "docker.io/me/app:1.2@sha256:abcd"),
            (
                "123456789012.dkr.ecr.us-east-1.amazonaws.com/team/product-svc:v3",
                "123456789012.dkr.ecr.us-east-1.amazonaws.com/team/product-svc",
                "product-svc",
                "123456789012.dkr.ecr.us-east-1.amazonaws.com/team/product-svc:v3",
            ),
        ];
        for (image, repo, name, canonical) in table {
            assert_eq!(repository(image), repo, "repository of {image}");
            assert_eq!(executable_name(image), name, "executable name of {image}");
            assert_eq!(canonical_reference(image), canonical, "canonical form of {image}");
        }
    }

    fn executable(dir: &Path, name: &str) -> PathBuf {
        let path = dir.join(name);
        fs::write(&path, "#!/bin/sh\n").unwrap();
        fs::set_permissions(&path, fs::Permissions::from_mode(0o755)).unwrap();
        path
    }

    #[test]
    fn explicit_mapping_wins_then_search_dirs_then_path() {
        let beside = tempfile::tempdir().unwrap();
        let on_path = tempfile::tempdir().unwrap();
        let mapped = tempfile::tempdir().unwrap();
        let beside_svc = executable(beside.path(), "product-svc");
        let path_svc = executable(on_path.path(), "user-svc");
        let exact = executable(mapped.path(), "exact");
        let untagged = executable(mapped.path(), "untagged");
        fs::write(mapped.path().join("not-executable"), "").unwrap();

        let resolver = Resolver {
            image_map: BTreeMap::from([
                ("me/product-svc:2".to_string(), exact.clone()),
                ("me/product-svc".to_string(), untagged.clone()),
                ("me/broken".to_string(), mapped.path().join("not-executable")),
            ]),
            search_dirs: vec![beside.path().to_path_buf()],
            search_path: true,
        };
        let path_var = Some(on_path.path().as_os_str());

        assert_eq!(resolver.image("me/product-svc:2", path_var), Ok(exact));
        assert_eq!(resolver.image("me/product-svc:1", path_var), Ok(untagged.clone()));
        assert_eq!(resolver.image("me/product-svc", path_var), Ok(untagged));
        assert_eq!(resolver.image("other/product-svc:9", path_var), Ok(beside_svc));
        assert_eq!(resolver.image("x/user-svc", path_var), Ok(path_svc));

        let broken = resolver.image("me/broken", path_var).unwrap_err();
        assert!(broken.contains("not an executable file"), "{broken}");

        let off_path = Resolver { search_path: false, ..resolver.clone() };
        let reason = off_path.image("x/user-svc", path_var).unwrap_err();
        assert!(!reason.contains("on PATH"), "{reason}");
    }

    #[test]
    fn an_unresolvable_image_reads_like_a_failed_pull_and_says_what_to_do() {
        let beside = tempfile::tempdir().unwrap();
        let resolver = Resolver {
            image_map: BTreeMap::new(),
            search_dirs: vec![beside.path().to_path_buf()],
            search_path: true,
        };
        let reason = resolver.image("phamtrongnghia1105/product-svc", None).unwrap_err();
        let expected_start = format!(
            "CannotPullContainerError: pull image manifest has been retried 1 time(s): failed to \
             resolve ref docker.io/phamtrongnghia1105/product-svc:latest: berth found no \
             executable \"product-svc\" beside berth ({}) or on PATH, and no mapping for this \
             image (berth.toml [images] or --image NAME=PATH)",
            beside.path().display()
        );
        assert!(reason.starts_with(&expected_start), "{reason}");
        assert!(reason.contains("--image phamtrongnghia1105/product-svc=/path/to/program"));
    }

    #[test]
    fn entry_points_are_paths_mapped_names_or_found_on_the_tasks_path() {
        let dir = tempfile::tempdir().unwrap();
        let tool = executable(dir.path(), "tool");
        let resolver = Resolver::default();
        assert_eq!(resolver.entry_point("/bin/sh", None, dir.path()), Ok(PathBuf::from("/bin/sh")));
        assert_eq!(resolver.entry_point("./tool", None, dir.path()), Ok(dir.path().join("./tool")));
        assert_eq!(resolver.entry_point("tool", Some(dir.path().as_os_str()), Path::new("/")), Ok(tool));
        let reason = resolver.entry_point("no-such-tool", None, dir.path()).unwrap_err();
        assert!(reason.starts_with("CannotStartContainerError: exec: \"no-such-tool\""), "{reason}");
    }
}
