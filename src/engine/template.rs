//! Explanation and remediation templates: text with `{name}` placeholders,
//! filled from a rule's captures and its fact's fields, and `[[ ... ]]`
//! sections that are left out when a placeholder inside has no value (so a
//! sentence can say "the most free is 2 on gpu-3" only when that is known).

use std::collections::BTreeMap;

#[derive(Debug, Clone, PartialEq)]
enum Piece {
    Text(String),
    Field(String),
    Optional(Vec<Piece>),
}

#[derive(Debug, Clone, PartialEq)]
pub struct Template {
    pieces: Vec<Piece>,
}

/// A template error, with the byte offset in the template text.
#[derive(Debug, Clone, PartialEq)]
pub struct TemplateError {
    pub offset: usize,
    pub message: String,
}

impl Template {
    pub fn parse(text: &str) -> Result<Template, TemplateError> {
        let mut stack: Vec<(usize, Vec<Piece>)> = vec![(0, Vec::new())];
        let mut literal = String::new();
        let mut rest = text.char_indices().peekable();
        let flush = |literal: &mut String, pieces: &mut Vec<Piece>| {
            if !literal.is_empty() {
                pieces.push(Piece::Text(std::mem::take(literal)));
            }
        };
        while let Some((at, c)) = rest.next() {
            let next = rest.peek().map(|(_, c)| *c);
            match (c, next) {
                ('[', Some('[')) => {
                    rest.next();
                    let pieces = &mut stack.last_mut().expect("root").1;
                    flush(&mut literal, pieces);
                    stack.push((at, Vec::new()));
                }
                (']', Some(']')) if stack.len() > 1 => {
                    rest.next();
                    let (_, mut pieces) = stack.pop().expect("section");
                    flush(&mut literal, &mut pieces);
                    stack
                        .last_mut()
                        .expect("root")
                        .1
                        .push(Piece::Optional(pieces));
                }
                ('{', _) => {
                    let mut name = String::new();
                    let mut closed = false;
                    for (_, c) in rest.by_ref() {
                        if c == '}' {
                            closed = true;
                            break;
                        }
                        name.push(c);
                    }
                    let valid = !name.is_empty()
                        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
                    if !closed || !valid {
                        return Err(TemplateError {
                            offset: at,
                            message: format!(
                                "`{{{name}` is not a placeholder: write {{name}} with letters, digits and _"
                            ),
                        });
                    }
                    let pieces = &mut stack.last_mut().expect("root").1;
                    flush(&mut literal, pieces);
                    pieces.push(Piece::Field(name));
                }
                _ => literal.push(c),
            }
        }
        if stack.len() > 1 {
            return Err(TemplateError {
                offset: stack.last().map_or(0, |(at, _)| *at),
                message: "`[[` is never closed with `]]`".into(),
            });
        }
        let (_, mut pieces) = stack.pop().expect("root");
        flush(&mut literal, &mut pieces);
        Ok(Template { pieces })
    }

    /// Every placeholder name, for validation.
    pub fn placeholders(&self) -> Vec<&str> {
        fn walk<'a>(pieces: &'a [Piece], out: &mut Vec<&'a str>) {
            for piece in pieces {
                match piece {
                    Piece::Field(name) => out.push(name),
                    Piece::Optional(inner) => walk(inner, out),
                    Piece::Text(_) => {}
                }
            }
        }
        let mut out = Vec::new();
        walk(&self.pieces, &mut out);
        out
    }

    /// The placeholders outside optional sections that `lookup` has no
    /// value for: what a rendering would show as "?".
    pub fn missing(&self, lookup: &dyn Fn(&str) -> Option<String>) -> Vec<String> {
        self.pieces
            .iter()
            .filter_map(|piece| match piece {
                Piece::Field(name) if lookup(name).is_none() => Some(name.clone()),
                _ => None,
            })
            .collect()
    }

    /// Fills the template. A placeholder without a value outside any
    /// optional section shows as "?" rather than failing the run.
    pub fn render(&self, lookup: &dyn Fn(&str) -> Option<String>) -> String {
        fn walk(
            pieces: &[Piece],
            lookup: &dyn Fn(&str) -> Option<String>,
            strict: bool,
        ) -> Option<String> {
            let mut out = String::new();
            for piece in pieces {
                match piece {
                    // A value that ends a sentence ("Kubelet stopped posting
                    // node status.") takes the place of the template's own
                    // full stop after it.
                    Piece::Text(text) => match text.strip_prefix('.') {
                        Some(rest) if out.ends_with(['.', '!', '?']) => out.push_str(rest),
                        _ => out.push_str(text),
                    },
                    Piece::Field(name) => match lookup(name) {
                        Some(value) => out.push_str(&value),
                        None if strict => return None,
                        None => out.push('?'),
                    },
                    Piece::Optional(inner) => {
                        if let Some(text) = walk(inner, lookup, true) {
                            out.push_str(&text);
                        }
                    }
                }
            }
            Some(out)
        }
        walk(&self.pieces, lookup, false).unwrap_or_default()
    }
}

/// Renders with values from a map, for tests and examples.
pub fn render_with(template: &Template, values: &BTreeMap<String, String>) -> String {
    template.render(&|name| values.get(name).cloned())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn values(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn fills_placeholders_and_keeps_optional_sections_with_values() {
        let template = Template::parse(
            "needs {requested} {resource}[[, the most free is {max_free} on {node}]].",
        )
        .unwrap();
        assert_eq!(
            render_with(
                &template,
                &values(&[
                    ("requested", "4"),
                    ("resource", "gpu"),
                    ("max_free", "2"),
                    ("node", "g3")
                ])
            ),
            "needs 4 gpu, the most free is 2 on g3."
        );
        assert_eq!(
            render_with(
                &template,
                &values(&[("requested", "4"), ("resource", "gpu")])
            ),
            "needs 4 gpu."
        );
        assert_eq!(
            template.placeholders(),
            vec!["requested", "resource", "max_free", "node"]
        );
    }

    #[test]
    fn a_missing_value_outside_sections_shows_a_question_mark() {
        let template = Template::parse("taint {taint}").unwrap();
        assert_eq!(render_with(&template, &values(&[])), "taint ?");
    }

    #[test]
    fn broken_placeholders_and_sections_are_errors_with_offsets() {
        assert_eq!(Template::parse("a {b c}").unwrap_err().offset, 2);
        assert_eq!(Template::parse("a {open").unwrap_err().offset, 2);
        assert_eq!(Template::parse("x [[never {closed}").unwrap_err().offset, 2);
    }

    #[test]
    fn a_value_that_ends_a_sentence_is_not_followed_by_a_second_full_stop() {
        let template = Template::parse("Node says: {message}. Cordon it.").unwrap();
        assert_eq!(
            render_with(
                &template,
                &values(&[("message", "Kubelet stopped posting node status.")])
            ),
            "Node says: Kubelet stopped posting node status. Cordon it."
        );
        assert_eq!(
            render_with(&template, &values(&[("message", "disk full")])),
            "Node says: disk full. Cordon it."
        );
    }

    #[test]
    fn single_brackets_are_text() {
        let template = Template::parse("volumes=[data] ok]").unwrap();
        assert_eq!(render_with(&template, &values(&[])), "volumes=[data] ok]");
    }
}
