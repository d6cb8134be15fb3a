//! Fold groups: rules whose findings on one subject become one finding.
//!
//! A Pending run has one verdict with several causes; users want one finding
//! that names them all, worst first, not one finding per cause. Each rule in
//! a group explains its cause as a phrase; the group supplies the sentence.

/// A fold group and the header its findings start with.
#[derive(Debug)]
pub struct FoldGroup {
    pub name: &'static str,
    pub header: &'static str,
}

pub const GROUPS: &[FoldGroup] = &[FoldGroup {
    name: "scheduling",
    header: "{subject} has been Pending {pending_for}",
}];

pub fn group(name: &str) -> Option<&'static FoldGroup> {
    GROUPS.iter().find(|group| group.name == name)
}
