//! The captured output of tasks: where it is and how to read it (for `berth logs`).
//!
//! Each container's stdout and stderr go, interleaved as written, to `<log_dir>/<container>.log`.
//! The process writes the file directly (berth only opened it), so these helpers just read files.

use std::fs::{self, File};
use std::future::Future;
use std::io::{self, Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// The most one [`LogCursor::read_new`] returns; the rest comes with the next call.
const MAX_READ: u64 = 1 << 20;

/// A container name as a file stem: anything but `[A-Za-z0-9_.-]` becomes `_`, and a leading `.`
/// too, so a name can never reach outside the log directory or hide its file.
pub fn log_file_stem(container: &str) -> String {
    let stem: String = container
        .chars()
        .enumerate()
        .map(|(i, c)| match c {
            'a'..='z' | 'A'..='Z' | '0'..='9' | '_' | '-' => c,
            '.' if i > 0 => c,
            _ => '_',
        })
        .collect();
    if stem.is_empty() { "_".to_string() } else { stem }
}

/// Where the runtime writes `container`'s output.
pub fn log_file(log_dir: &Path, container: &str) -> PathBuf {
    log_dir.join(format!("{}.log", log_file_stem(container)))
}

/// The log files in a task's log directory as `(container, path)`, sorted by container. A
/// missing directory has no logs.
pub fn log_files(log_dir: &Path) -> Vec<(String, PathBuf)> {
    let Ok(entries) = fs::read_dir(log_dir) else {
        return Vec::new();
    };
    let mut files: Vec<(String, PathBuf)> = entries
        .filter_map(|entry| {
            let path = entry.ok()?.path();
            if path.extension()? != "log" || !path.is_file() {
                return None;
            }
            Some((path.file_stem()?.to_str()?.to_string(), path))
        })
        .collect();
    files.sort();
    files
}

/// A read position in a log file that only grows (or is truncated and starts again).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogCursor {
    path: PathBuf,
    offset: u64,
}

impl LogCursor {
    /// Everything the file holds, then whatever is appended.
    pub fn from_start(path: impl Into<PathBuf>) -> Self {
        Self { path: path.into(), offset: 0 }
    }

    /// Only what is appended from now on (a missing file counts as empty).
    pub fn from_end(path: impl Into<PathBuf>) -> Self {
        let path = path.into();
        let offset = fs::metadata(&path).map_or(0, |m| m.len());
        Self { path, offset }
    }

    /// The last `lines` complete or partial lines, then whatever is appended (`tail -n`).
    pub fn from_last_lines(path: impl Into<PathBuf>, lines: usize) -> io::Result<Self> {
        let path = path.into();
        let offset = match File::open(&path) {
            Ok(file) => start_of_last_lines(file, lines)?,
            Err(e) if e.kind() == io::ErrorKind::NotFound => 0,
            Err(e) => return Err(e),
        };
        Ok(Self { path, offset })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The byte offset of the next read.
    pub fn offset(&self) -> u64 {
        self.offset
    }

    /// The bytes appended since the last call (at most 1 MiB at a time). A missing file yields
    /// nothing; a file shorter than the cursor was truncated or replaced and is read from its
    /// start.
    pub fn read_new(&mut self) -> io::Result<Vec<u8>> {
        let mut file = match File::open(&self.path) {
            Ok(file) => file,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(e),
        };
        let len = file.metadata()?.len();
        if len < self.offset {
            self.offset = 0;
        }
        if len == self.offset {
            return Ok(Vec::new());
        }
        file.seek(SeekFrom::Start(self.offset))?;
        let mut bytes = Vec::new();
        file.take((len - self.offset).min(MAX_READ)).read_to_end(&mut bytes)?;
        self.offset += bytes.len() as u64;
        Ok(bytes)
    }
}

/// `tail -f`: hands every new chunk of `cursor`'s file to `out`, polling every `poll`, until
/// `stop` completes; then reads once more so nothing written before the stop is lost.
pub async fn follow(
    cursor: &mut LogCursor,
    poll: Duration,
    mut out: impl FnMut(&[u8]),
    stop: impl Future<Output = ()>,
) -> io::Result<()> {
    let mut stop = std::pin::pin!(stop);
    loop {
        drain(cursor, &mut out)?;
        tokio::select! {
            () = &mut stop => return drain(cursor, &mut out),
            () = tokio::time::sleep(poll) => {}
        }
    }
}

fn drain(cursor: &mut LogCursor, out: &mut impl FnMut(&[u8])) -> io::Result<()> {
    loop {
        let bytes = cursor.read_new()?;
        if bytes.is_empty() {
            return Ok(());
        }
        out(&bytes);
    }
}

/// The offset where the last `lines` lines of `file` begin. A final line without `\n` counts.
fn start_of_last_lines(mut file: File, lines: usize) -> io::Result<u64> {
    const CHUNK: u64 = 8 * 1024;
    let len = file.metadata()?.len();
    if lines == 0 {
        return Ok(len);
    }
    // Walk backwards counting newlines; the newline ending the file does not start a line.
    let mut newlines_wanted = lines;
    let mut end = len;
    let mut buf = Vec::new();
    let mut skip_last = true;
    while end > 0 {
        let start = end.saturating_sub(CHUNK);
        buf.resize((end - start) as usize, 0);
        file.seek(SeekFrom::Start(start))?;
        file.read_exact(&mut buf)?;
        for (i, byte) in buf.iter().enumerate().rev() {
            let at = start + i as u64;
            if *byte != b'\n' {
                continue;
            }
            if skip_last && at + 1 == len {
                continue;
            }
            newlines_wanted -= 1;
            if newlines_wanted == 0 {
                return Ok(at + 1);
            }
        }
        skip_last = false;
        end = start;
    }
    Ok(0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    #[test]
    fn container_names_become_safe_file_stems() {
        assert_eq!(log_file_stem("product-svc"), "product-svc");
        assert_eq!(log_file_stem("../etc/passwd"), "_._etc_passwd");
        assert_eq!(log_file_stem(".hidden"), "_hidden");
        assert_eq!(log_file_stem(""), "_");
        assert_eq!(log_file(Path::new("/l"), "app"), Path::new("/l/app.log"));
    }

    #[test]
    fn log_files_lists_one_file_per_container_sorted() {
        let dir = tempfile::tempdir().unwrap();
        fs::write(dir.path().join("web.log"), "w").unwrap();
        fs::write(dir.path().join("app.log"), "a").unwrap();
        fs::write(dir.path().join("notes.txt"), "n").unwrap();
        let names: Vec<String> = log_files(dir.path()).into_iter().map(|(c, _)| c).collect();
        assert_eq!(names, ["app", "web"]);
        assert!(log_files(&dir.path().join("missing")).is_empty());
    }

    #[test]
    fn a_cursor_reads_what_is_appended_and_restarts_after_truncation() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("app.log");
        let mut cursor = LogCursor::from_end(&path);
        assert_eq!(cursor.read_new().unwrap(), b"");
        let mut file = fs::OpenOptions::new().create(true).append(true).open(&path).unwrap();
        file.write_all(b"one\n").unwrap();
        assert_eq!(cursor.read_new().unwrap(), b"one\n");
        file.write_all(b"two\n").unwrap();
        assert_eq!(cursor.read_new().unwrap(), b"two\n");
        assert_eq!(cursor.read_new().unwrap(), b"");
        file.set_len(0).unwrap();
        file.write_all(b"3\n").unwrap();
        assert_eq!(cursor.read_new().unwrap(), b"3\n");
    }

    #[test]
    fn from_last_lines_starts_at_the_nth_line_from_the_end() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("app.log");
        fs::write(&path, "a\nb\nc\n").unwrap();
        let tail = |n| LogCursor::from_last_lines(&path, n).unwrap().read_new().unwrap();
        assert_eq!(tail(0), b"");
        assert_eq!(tail(1), b"c\n");
        assert_eq!(tail(2), b"b\nc\n");
        assert_eq!(tail(9), b"a\nb\nc\n");
        fs::write(&path, "a\nb").unwrap();
        assert_eq!(tail(1), b"b");
        let long: String = (0..5000).map(|i| format!("line {i}\n")).collect();
        fs::write(&path, &long).unwrap();
        assert_eq!(tail(2), b"line 4998\nline 4999\n");
    }

    #[tokio::test]
    async fn follow_delivers_appended_bytes_until_stopped() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("app.log");
        let mut cursor = LogCursor::from_start(&path);
        let writer_path = path.clone();
        let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
        let writer = tokio::spawn(async move {
            tokio::time::sleep(Duration::from_millis(30)).await;
            fs::write(&writer_path, "hello\n").unwrap();
            tokio::time::sleep(Duration::from_millis(30)).await;
            let _ = stop_tx.send(());
        });
        let mut seen = Vec::new();
        follow(&mut cursor, Duration::from_millis(5), |b| seen.extend_from_slice(b), async {
            let _ = stop_rx.await;
        })
        .await
        .unwrap();
        writer.await.unwrap();
        assert_eq!(seen, b"hello\n");
    }
}
