//! Errors that end a command, and the exit code each one maps to.
//!
//! Findings are never errors: they are the product. An error here means
//! pxdoctor could not do its job (bad flag, unreadable input, broken rule).

use std::fmt;
use std::path::PathBuf;

/// Where in a file something went wrong; line and column are 1-based.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Position {
    pub path: PathBuf,
    pub line: Option<u64>,
    pub column: Option<u64>,
}

impl Position {
    pub fn file(path: impl Into<PathBuf>) -> Self {
        Position {
            path: path.into(),
            line: None,
            column: None,
        }
    }

    pub fn at(path: impl Into<PathBuf>, line: u64, column: u64) -> Self {
        Position {
            path: path.into(),
            line: Some(line),
            column: Some(column),
        }
    }
}

impl fmt::Display for Position {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.path.display())?;
        if let Some(line) = self.line {
            write!(f, ":{line}")?;
            if let Some(column) = self.column {
                write!(f, ":{column}")?;
            }
        }
        Ok(())
    }
}

/// One problem in an input file, with its position.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    pub position: Position,
    pub message: String,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.position, self.message)
    }
}

#[derive(Debug)]
pub enum Error {
    /// A flag or argument is wrong (exit 2).
    Usage(String),
    /// One or more input files are invalid (exit 2). All problems are kept,
    /// so the user can fix them in one go.
    Input(Vec<Problem>),
    /// Nothing could be collected (exit 3).
    Collection(String),
}

impl Error {
    pub fn input(position: Position, message: impl Into<String>) -> Self {
        Error::Input(vec![Problem {
            position,
            message: message.into(),
        }])
    }

    pub fn exit_code(&self) -> u8 {
        match self {
            Error::Usage(_) | Error::Input(_) => 2,
            Error::Collection(_) => 3,
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Usage(message) => write!(f, "{message}"),
            Error::Collection(message) => write!(f, "{message}"),
            Error::Input(problems) => {
                for (i, problem) in problems.iter().enumerate() {
                    if i > 0 {
                        writeln!(f)?;
                    }
                    write!(f, "{problem}")?;
                }
                Ok(())
            }
        }
    }
}

impl std::error::Error for Error {}

pub type Result<T> = std::result::Result<T, Error>;
