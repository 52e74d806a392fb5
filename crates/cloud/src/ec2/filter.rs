//! EC2's generic `Filter.N.Name` / `Filter.N.Value.M` matching.
//!
//! A resource matches when it matches every filter; it matches a filter when any of the filter's
//! values matches any of the resource's values for that name. Values may hold the wildcards `*`
//! (any run of characters) and `?` (one character); `\` escapes them. Besides each type's own
//! names every taggable type understands `tag:<Key>` (the value of that tag), `tag-key` and
//! `tag-value`. An unknown filter name is AWS's `InvalidParameterValue` "The filter 'x' is
//! invalid".

use serde::Deserialize;

use super::error::Ec2Error;
use super::tags::Tag;

/// One `Filter.N`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Filter {
    #[serde(rename = "Name")]
    pub name: String,
    #[serde(rename = "Value", default)]
    pub values: Vec<String>,
}

/// A resource that Describe calls filter.
pub trait Filterable {
    /// The filter names this type understands, besides the tag filters.
    const FILTERS: &'static [&'static str];

    fn tags(&self) -> &[Tag];

    /// The values of the filter `name` (one of [`Self::FILTERS`]) for this resource.
    fn filter_values(&self, name: &str) -> Vec<String>;
}

fn is_tag_filter(name: &str) -> bool {
    name.starts_with("tag:") || name == "tag-key" || name == "tag-value"
}

/// Fails with `InvalidParameterValue` on a filter name `T` does not understand.
pub fn check<T: Filterable>(filters: &[Filter]) -> Result<(), Ec2Error> {
    match filters.iter().find(|f| !is_tag_filter(&f.name) && !T::FILTERS.contains(&f.name.as_str())) {
        Some(f) => Err(Ec2Error::InvalidFilter(f.name.clone())),
        None => Ok(()),
    }
}

/// Whether `item` matches every filter (names already [`check`]ed).
pub fn matches<T: Filterable>(item: &T, filters: &[Filter]) -> bool {
    filters.iter().all(|f| {
        let values: Vec<String> = if let Some(key) = f.name.strip_prefix("tag:") {
            item.tags().iter().filter(|t| t.key == key).map(|t| t.value.clone()).collect()
        } else if f.name == "tag-key" {
            item.tags().iter().map(|t| t.key.clone()).collect()
        } else if f.name == "tag-value" {
            item.tags().iter().map(|t| t.value.clone()).collect()
        } else {
            item.filter_values(&f.name)
        };
        f.values.iter().any(|pattern| values.iter().any(|v| wildcard(pattern, v)))
    })
}

/// The items that match every filter, in their order.
pub fn select<T: Filterable>(items: Vec<T>, filters: &[Filter]) -> Result<Vec<T>, Ec2Error> {
    check::<T>(filters)?;
    Ok(items.into_iter().filter(|i| matches(i, filters)).collect())
}

/// EC2 filter wildcard matching: `*` any run, `?` one character, `\` escapes the next one.
pub fn wildcard(pattern: &str, value: &str) -> bool {
    #[derive(Clone, Copy, PartialEq)]
    enum Tok {
        Lit(char),
        One,
        Any,
    }
    let mut toks = Vec::new();
    let mut chars = pattern.chars();
    while let Some(c) = chars.next() {
        toks.push(match c {
            '\\' => Tok::Lit(chars.next().unwrap_or('\\')),
            '*' => Tok::Any,
            '?' => Tok::One,
            c => Tok::Lit(c),
        });
    }
    let v: Vec<char> = value.chars().collect();
    // Iterative matching with one backtrack point for the last `*` (linear for practical inputs).
    let (mut p, mut i) = (0usize, 0usize);
    let mut star: Option<(usize, usize)> = None;
    while i < v.len() {
        match toks.get(p) {
            Some(Tok::Lit(c)) if *c == v[i] => {
                p += 1;
                i += 1;
            }
            Some(Tok::One) => {
                p += 1;
                i += 1;
            }
            Some(Tok::Any) => {
                star = Some((p, i));
                p += 1;
            }
            _ => match star {
                Some((sp, si)) => {
                    p = sp + 1;
                    i = si + 1;
                    star = Some((sp, si + 1));
                }
                None => return false,
            },
        }
    }
    toks[p.min(toks.len())..].iter().all(|t| *t == Tok::Any)
}

/// `"true"`/`"false"` as filters compare booleans.
pub fn bool_value(b: bool) -> Vec<String> {
    vec![b.to_string()]
}

/// One optional value.
pub fn opt(v: Option<&str>) -> Vec<String> {
    v.map(|s| vec![s.to_string()]).unwrap_or_default()
}

/// One value.
pub fn one(v: &str) -> Vec<String> {
    vec![v.to_string()]
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Thing {
        id: &'static str,
        tags: Vec<Tag>,
    }

    impl Filterable for Thing {
        const FILTERS: &'static [&'static str] = &["thing-id"];
        fn tags(&self) -> &[Tag] {
            &self.tags
        }
        fn filter_values(&self, name: &str) -> Vec<String> {
            match name {
                "thing-id" => one(self.id),
                _ => Vec::new(),
            }
        }
    }

    fn tag(k: &str, v: &str) -> Tag {
        Tag { key: k.into(), value: v.into() }
    }

    fn f(name: &str, values: &[&str]) -> Filter {
        Filter { name: name.into(), values: values.iter().map(|s| s.to_string()).collect() }
    }

    fn things() -> Vec<Thing> {
        vec![
            Thing { id: "a-1", tags: vec![tag("Name", "ecs-vpc-public-us-east-1a"), tag("env", "dev")] },
            Thing { id: "a-2", tags: vec![tag("Name", "ecs-vpc-private-us-east-1a")] },
            Thing { id: "b-1", tags: vec![] },
        ]
    }

    fn ids(filters: &[Filter]) -> Vec<&'static str> {
        select(things(), filters).unwrap().iter().map(|t| t.id).collect()
    }

    #[test]
    fn wildcards() {
        assert!(wildcard("*", ""));
        assert!(wildcard("ecs-*", "ecs-vpc"));
        assert!(wildcard("*-us-east-1?", "ecs-vpc-public-us-east-1a"));
        assert!(!wildcard("*-us-east-1?", "ecs-vpc-public-us-east-1"));
        assert!(wildcard("a*b*c", "aXXbYYc"));
        assert!(!wildcard("a*b*c", "aXXbYY"));
        assert!(wildcard("a\\*", "a*"));
        assert!(!wildcard("a\\*", "ab"));
        assert!(wildcard("exact", "exact"));
        assert!(!wildcard("exact", "Exact"), "values are case-sensitive");
        assert!(wildcard("**?", "x"));
    }

    #[test]
    fn tag_filters_and_plain_filters() {
        assert_eq!(ids(&[]), ["a-1", "a-2", "b-1"]);
        assert_eq!(ids(&[f("thing-id", &["a-*"])]), ["a-1", "a-2"]);
        assert_eq!(ids(&[f("tag:Name", &["*public*"])]), ["a-1"]);
        assert_eq!(ids(&[f("tag-key", &["env"])]), ["a-1"]);
        assert_eq!(ids(&[f("tag-value", &["ecs-vpc-private-us-east-1?"])]), ["a-2"]);
        // Several values of one filter are OR-ed; several filters are AND-ed.
        assert_eq!(ids(&[f("thing-id", &["a-2", "b-1"])]), ["a-2", "b-1"]);
        assert_eq!(ids(&[f("thing-id", &["a-1", "a-2"]), f("tag:Name", &["*private*"])]), ["a-2"]);
        // Nothing matches: an empty list, not an error.
        assert!(ids(&[f("tag:Name", &["nope"])]).is_empty());
    }

    #[test]
    fn unknown_filter_names_are_invalid() {
        let err = select(things(), &[f("thing-colour", &["red"])]).err().unwrap();
        assert_eq!(err.code(), "InvalidParameterValue");
        assert_eq!(err.to_string(), "The filter 'thing-colour' is invalid");
    }
}
