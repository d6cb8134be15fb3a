//! Values every domain uses: names, durations, quantities, subjects and
//! evidence, field values, and the `Fact` trait itself.

pub mod duration;
pub mod fact;
pub mod name;
pub mod quantity;
pub mod subject;
pub mod value;
pub mod words;
