//! Short strings that repeat across many facts (namespaces, kinds, event
//! reasons and types, reporting components), stored once and shared.
//!
//! Half a million events name a handful of namespaces, kinds, reasons and
//! components; an owned `String` per field was a heap block each. A
//! [`Name`] reads like a `&str` (it derefs to one and compares with one).

use std::cell::RefCell;
use std::collections::HashSet;
use std::fmt;
use std::ops::Deref;
use std::sync::Arc;

#[derive(Clone, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Name(Arc<str>);

/// Longer strings are rarely repeated; past this many distinct names the
/// interner stops growing (a cluster with unusual reasons still works).
const LONGEST: usize = 64;
const MOST: usize = 16_384;

thread_local! {
    /// One table per decoding thread: no lock on the hot path.
    static NAMES: RefCell<HashSet<Arc<str>>> = RefCell::new(HashSet::new());
}

impl Name {
    /// The shared copy of `text`.
    pub fn intern(text: &str) -> Name {
        if text.len() > LONGEST {
            return Name(Arc::from(text));
        }
        NAMES.with(|names| {
            let mut names = names.borrow_mut();
            if let Some(name) = names.get(text) {
                return Name(name.clone());
            }
            let name: Arc<str> = Arc::from(text);
            if names.len() < MOST {
                names.insert(name.clone());
            }
            Name(name)
        })
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl Deref for Name {
    type Target = str;
    fn deref(&self) -> &str {
        &self.0
    }
}

impl AsRef<str> for Name {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

impl std::borrow::Borrow<str> for Name {
    fn borrow(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Name {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for Name {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&*self.0, f)
    }
}

impl PartialEq<str> for Name {
    fn eq(&self, other: &str) -> bool {
        &*self.0 == other
    }
}

impl PartialEq<&str> for Name {
    fn eq(&self, other: &&str) -> bool {
        &*self.0 == *other
    }
}

impl PartialEq<String> for Name {
    fn eq(&self, other: &String) -> bool {
        &*self.0 == other.as_str()
    }
}

impl From<&str> for Name {
    fn from(text: &str) -> Name {
        Name::intern(text)
    }
}

impl From<String> for Name {
    fn from(text: String) -> Name {
        Name::intern(&text)
    }
}

impl<'a> From<&'a Name> for std::borrow::Cow<'a, str> {
    fn from(name: &'a Name) -> std::borrow::Cow<'a, str> {
        std::borrow::Cow::Borrowed(name.as_str())
    }
}

impl From<&Name> for String {
    fn from(name: &Name) -> String {
        name.0.to_string()
    }
}

impl From<Name> for String {
    fn from(name: Name) -> String {
        name.0.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn equal_names_share_one_copy() {
        let a = Name::intern("FailedScheduling");
        let b = Name::from(String::from("FailedScheduling"));
        assert!(Arc::ptr_eq(&a.0, &b.0));
        assert_eq!(a, "FailedScheduling");
        assert_eq!(a.len(), 16);
    }
}
