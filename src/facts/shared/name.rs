//! Values that repeat across many facts, stored once and shared: short
//! strings (namespaces, kinds, event reasons and types, reporting
//! components) as [`Name`]s, and whole records (a pod's placement and
//! requests) through an [`Interner`].
//!
//! Half a million events name a handful of namespaces, kinds, reasons and
//! components; an owned `String` per field was a heap block each. A
//! [`Name`] reads like a `&str` (it derefs to one and compares with one).
//! A hundred thousand run pods come from a few polyaxonfiles, so they
//! carry a few distinct tolerations and requests.

use std::cell::RefCell;
use std::collections::HashSet;
use std::fmt;
use std::hash::Hash;
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

/// Shared copies of records of one type; declare one per decoding thread
/// (`thread_local!`), like the table of names.
pub struct Interner<T> {
    values: HashSet<Arc<T>>,
}

impl<T> Default for Interner<T> {
    fn default() -> Self {
        Interner {
            values: HashSet::new(),
        }
    }
}

impl<T: Hash + Eq> Interner<T> {
    /// The shared copy of `value`; past [`MOST`] distinct values, a copy of
    /// its own.
    pub fn share(&mut self, value: T) -> Arc<T> {
        if let Some(shared) = self.values.get(&value) {
            return shared.clone();
        }
        let value = Arc::new(value);
        if self.values.len() < MOST {
            self.values.insert(value.clone());
        }
        value
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

    #[test]
    fn equal_records_share_one_copy_and_different_ones_do_not() {
        let mut interner = Interner::default();
        let a = interner.share(vec![("cpu", 500)]);
        let b = interner.share(vec![("cpu", 500)]);
        let c = interner.share(vec![("cpu", 250)]);
        assert!(Arc::ptr_eq(&a, &b));
        assert!(!Arc::ptr_eq(&a, &c));
        assert_eq!(*c, vec![("cpu", 250)]);
    }
}
