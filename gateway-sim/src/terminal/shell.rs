//! A tiny line-editing shell: echoes what is typed, runs the line on Enter (`echo`, `exit`,
//! anything else is "command not found") and prints the `$ ` prompt.

/// The prompt printed at start and after each command.
pub(crate) const PROMPT: &[u8] = b"$ ";
/// Longest line kept; further typed bytes are ignored until Enter.
const MAX_LINE_BYTES: usize = 4096;

/// Where the input parser is between bytes.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
enum Keys {
    /// Typing.
    #[default]
    Text,
    /// After ESC: an arrow or function key follows.
    Escape,
    /// Inside `ESC [` or `ESC O`, until the final byte.
    Sequence,
}

/// The shell's line buffer.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Shell {
    line: Vec<u8>,
    keys: Keys,
    after_cr: bool,
}

impl Shell {
    /// Handles typed bytes, appending the echo and command output to `out`. Returns the exit
    /// code once the shell exits; bytes after that are ignored.
    pub(crate) fn feed(&mut self, input: &[u8], out: &mut Vec<u8>) -> Option<i32> {
        for &byte in input {
            let after_cr = std::mem::replace(&mut self.after_cr, byte == b'\r');
            match self.keys {
                Keys::Escape => {
                    self.keys = if matches!(byte, b'[' | b'O') {
                        Keys::Sequence
                    } else {
                        Keys::Text
                    };
                    continue;
                }
                Keys::Sequence => {
                    if (0x40..=0x7e).contains(&byte) {
                        self.keys = Keys::Text;
                    }
                    continue;
                }
                Keys::Text => {}
            }
            match byte {
                b'\n' if after_cr => {}
                b'\r' | b'\n' => {
                    out.extend_from_slice(b"\r\n");
                    let line = std::mem::take(&mut self.line);
                    if let Some(code) = run(&String::from_utf8_lossy(&line), out) {
                        return Some(code);
                    }
                    out.extend_from_slice(PROMPT);
                }
                // Erases a character when there is one; the next arm ignores it otherwise.
                0x7f | 0x08 if self.pop_char() => out.extend_from_slice(b"\x08 \x08"),
                0x7f | 0x08 => {}
                0x03 => {
                    self.line.clear();
                    out.extend_from_slice(b"^C\r\n");
                    out.extend_from_slice(PROMPT);
                }
                0x04 if self.line.is_empty() => {
                    out.extend_from_slice(b"exit\r\n");
                    return Some(0);
                }
                0x1b => self.keys = Keys::Escape,
                0x00..=0x1f => {}
                _ if self.line.len() < MAX_LINE_BYTES => {
                    self.line.push(byte);
                    out.push(byte);
                }
                _ => {}
            }
        }
        None
    }

    /// Removes the last character (all its UTF-8 bytes); false when the line is empty.
    fn pop_char(&mut self) -> bool {
        while let Some(byte) = self.line.pop() {
            if byte & 0xc0 != 0x80 {
                return true;
            }
        }
        false
    }
}

/// Runs one command line; the exit code if it was `exit`.
fn run(line: &str, out: &mut Vec<u8>) -> Option<i32> {
    let line = line.trim();
    let (command, args) = line.split_once(char::is_whitespace).unwrap_or((line, ""));
    match command {
        "" => {}
        "exit" => {
            return Some(args.trim().parse().unwrap_or(0));
        }
        "echo" => {
            out.extend_from_slice(args.trim_start().as_bytes());
            out.extend_from_slice(b"\r\n");
        }
        _ => {
            out.extend_from_slice(format!("sim: {command}: command not found\r\n").as_bytes());
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn typed(input: &[u8]) -> (String, Option<i32>) {
        let mut shell = Shell::default();
        let mut out = Vec::new();
        let code = shell.feed(input, &mut out);
        (String::from_utf8_lossy(&out).into_owned(), code)
    }

    #[test]
    fn echo_and_unknown_commands() {
        assert_eq!(typed(b"echo hi\r"), ("echo hi\r\nhi\r\n$ ".into(), None));
        assert_eq!(typed(b"echo\r\n"), ("echo\r\n\r\n$ ".into(), None));
        assert_eq!(
            typed(b"ls -la\r"),
            ("ls -la\r\nsim: ls: command not found\r\n$ ".into(), None)
        );
        assert_eq!(typed(b"\r"), ("\r\n$ ".into(), None));
    }

    #[test]
    fn editing_keys() {
        let (out, _) = typed("echo hé\x7fi\x1b[A\x1bOD\r".as_bytes());
        assert!(out.ends_with("\r\nhi\r\n$ "), "{out:?}");
        let (out, _) = typed(b"\x7fabc\x03echo x\r");
        assert_eq!(out, "abc^C\r\n$ echo x\r\nx\r\n$ ");
    }

    #[test]
    fn exit_ends_the_shell() {
        assert_eq!(typed(b"exit\recho no\r"), ("exit\r\n".into(), Some(0)));
        assert_eq!(typed(b"exit 3\r").1, Some(3));
        assert_eq!(typed(b"\x04").1, Some(0));
        assert_eq!(typed(b"a\x04").1, None);
    }

    #[test]
    fn a_long_line_is_capped() {
        let mut shell = Shell::default();
        let mut out = Vec::new();
        shell.feed(&vec![b'x'; MAX_LINE_BYTES + 10], &mut out);
        assert_eq!(out.len(), MAX_LINE_BYTES);
    }
}
