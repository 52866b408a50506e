//! The ssh reboot command: a template rendered per node, checked up front.
//!
//! The default is `ssh core@{ip} sudo shutdown -r -t 3`, the documented
//! command. Placeholders are `{ip}` (the node's InternalIP) and `{name}` (the
//! node name); `{{` and `}}` are literal braces. [`SshTemplate::parse`]
//! rejects unknown placeholders, unbalanced braces and templates that do not
//! mention the node at all, so a typo is caught before the first reboot. The
//! result is an argv (split on whitespace, no shell), so a node name cannot
//! inject shell syntax.

use thiserror::Error;

use super::reboot::RebootTarget;

/// The documented reboot command.
pub const DEFAULT_SSH_TEMPLATE: &str = "ssh core@{ip} sudo shutdown -r -t 3";

/// Errors of the ssh template; messages read after "failed to …".
#[derive(Debug, Error, PartialEq, Eq)]
pub enum TemplateError {
    /// The template is malformed.
    #[error("use ssh command {template:?}: {problem}; placeholders are {{ip}} and {{name}}")]
    Malformed {
        /// The template.
        template: String,
        /// What is wrong.
        problem: String,
    },
    /// The template needs the IP but the node has none.
    #[error("render the ssh command for node {0}: it has no InternalIP address")]
    NoInternalIp(String),
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Piece {
    Text(String),
    Ip,
    Name,
}

/// A validated command template.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SshTemplate {
    source: String,
    words: Vec<Vec<Piece>>,
}

impl SshTemplate {
    /// Parses and validates a template.
    pub fn parse(template: &str) -> Result<SshTemplate, TemplateError> {
        let bad = |problem: String| TemplateError::Malformed {
            template: template.to_string(),
            problem,
        };
        let mut words = Vec::new();
        for word in template.split_whitespace() {
            let mut pieces = Vec::new();
            let mut text = String::new();
            let mut chars = word.chars().peekable();
            while let Some(c) = chars.next() {
                match c {
                    '{' if chars.peek() == Some(&'{') => {
                        chars.next();
                        text.push('{');
                    }
                    '}' if chars.peek() == Some(&'}') => {
                        chars.next();
                        text.push('}');
                    }
                    '{' => {
                        let mut name = String::new();
                        let mut closed = false;
                        for c in chars.by_ref() {
                            if c == '}' {
                                closed = true;
                                break;
                            }
                            name.push(c);
                        }
                        if !closed {
                            return Err(bad(format!("placeholder {{{name} has no closing '}}'")));
                        }
                        let piece = match name.as_str() {
                            "ip" => Piece::Ip,
                            "name" => Piece::Name,
                            other => return Err(bad(format!("unknown placeholder {{{other}}}"))),
                        };
                        if !text.is_empty() {
                            pieces.push(Piece::Text(std::mem::take(&mut text)));
                        }
                        pieces.push(piece);
                    }
                    '}' => return Err(bad("a '}' without its '{'".into())),
                    c => text.push(c),
                }
            }
            if !text.is_empty() {
                pieces.push(Piece::Text(text));
            }
            words.push(pieces);
        }
        if words.is_empty() {
            return Err(bad("it is empty".into()));
        }
        if !words
            .iter()
            .flatten()
            .any(|p| matches!(p, Piece::Ip | Piece::Name))
        {
            return Err(bad(
                "it names no node: it would reboot the same host every time".into(),
            ));
        }
        Ok(SshTemplate {
            source: template.to_string(),
            words,
        })
    }

    /// Returns the template text.
    pub fn as_str(&self) -> &str {
        &self.source
    }

    /// Returns true when the template uses `{ip}`.
    pub fn needs_ip(&self) -> bool {
        self.words.iter().flatten().any(|p| *p == Piece::Ip)
    }

    /// Returns the argv for one node.
    pub fn render(&self, node: &RebootTarget) -> Result<Vec<String>, TemplateError> {
        let ip = node.internal_ip.map(|ip| ip.to_string());
        if self.needs_ip() && ip.is_none() {
            return Err(TemplateError::NoInternalIp(node.name.clone()));
        }
        Ok(self
            .words
            .iter()
            .map(|w| {
                w.iter()
                    .map(|p| match p {
                        Piece::Text(t) => t.as_str(),
                        Piece::Ip => ip.as_deref().unwrap_or_default(),
                        Piece::Name => node.name.as_str(),
                    })
                    .collect()
            })
            .collect())
    }
}

impl Default for SshTemplate {
    fn default() -> Self {
        SshTemplate::parse(DEFAULT_SSH_TEMPLATE).expect("the default template is valid")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn target(ip: Option<&str>) -> RebootTarget {
        RebootTarget {
            name: "w-0".into(),
            pool: "worker".into(),
            server_id: "x".into(),
            internal_ip: ip.map(|i| i.parse().unwrap()),
            boot_id: "b".into(),
        }
    }

    #[test]
    fn default_renders_the_documented_command() {
        let argv = SshTemplate::default()
            .render(&target(Some("10.0.0.5")))
            .unwrap();
        assert_eq!(
            argv,
            ["ssh", "core@10.0.0.5", "sudo", "shutdown", "-r", "-t", "3"]
        );
    }

    #[test]
    fn name_and_literal_braces_render() {
        let t = SshTemplate::parse("ssh -i key core@{name}.lab echo {{x}}").unwrap();
        assert!(!t.needs_ip());
        assert_eq!(
            t.render(&target(None)).unwrap(),
            ["ssh", "-i", "key", "core@w-0.lab", "echo", "{x}"]
        );
    }

    #[test]
    fn malformed_templates_are_refused() {
        for bad in [
            "ssh core@{host} reboot",
            "ssh core@{ip reboot",
            "ssh core@ip} reboot",
            "",
            "ssh core@10.0.0.1 reboot",
        ] {
            assert!(
                matches!(
                    SshTemplate::parse(bad),
                    Err(TemplateError::Malformed { .. })
                ),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn ip_template_needs_an_ip() {
        assert_eq!(
            SshTemplate::default().render(&target(None)),
            Err(TemplateError::NoInternalIp("w-0".into()))
        );
    }

    #[test]
    fn names_cannot_inject_words() {
        let mut t = target(Some("10.0.0.5"));
        t.name = "a; rm -rf /".into();
        let argv = SshTemplate::parse("ssh {name}")
            .unwrap()
            .render(&t)
            .unwrap();
        assert_eq!(argv.len(), 2);
    }
}
