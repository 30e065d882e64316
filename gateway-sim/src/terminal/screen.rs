//! A small VT screen: a grid of characters fed with terminal output, enough for snapshots
//! (printable text, CR/LF/BS/TAB, wrapping, scrolling, cursor moves, erases, `?25` and `?1049`).

/// Longest CSI parameter string kept; the rest of an oversized sequence is dropped.
const MAX_CSI_PARAMS: usize = 32;
/// Tab stops every this many columns.
const TAB_WIDTH: usize = 8;

/// Where the output parser is between bytes.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
enum Parse {
    /// Plain text.
    #[default]
    Ground,
    /// After ESC.
    Escape,
    /// Inside `ESC [`, with the parameter bytes so far.
    Csi(String),
    /// Inside `ESC ]`, until BEL or ST; `true` right after an ESC.
    Osc(bool),
}

/// The primary screen, kept while the alternate one is shown.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Saved {
    grid: Vec<Vec<char>>,
    x: usize,
    y: usize,
}

/// A terminal screen of `rows` × `cols` characters with a cursor.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Screen {
    cols: usize,
    rows: usize,
    grid: Vec<Vec<char>>,
    /// Cursor column; equal to `cols` while a wrap is pending.
    x: usize,
    y: usize,
    cursor_visible: bool,
    primary: Option<Saved>,
    parse: Parse,
    /// Bytes of an unfinished UTF-8 character.
    utf8: Vec<u8>,
}

impl Screen {
    /// A blank screen; a zero size counts as 1.
    pub(crate) fn new(cols: u16, rows: u16) -> Screen {
        let (cols, rows) = (usize::from(cols.max(1)), usize::from(rows.max(1)));
        Screen {
            cols,
            rows,
            grid: blank(cols, rows),
            x: 0,
            y: 0,
            cursor_visible: true,
            primary: None,
            parse: Parse::Ground,
            utf8: Vec::new(),
        }
    }

    /// Columns and rows.
    pub(crate) fn size(&self) -> (u16, u16) {
        (clamp_u16(self.cols), clamp_u16(self.rows))
    }

    /// Cursor column and row, inside the screen.
    pub(crate) fn cursor(&self) -> (u16, u16) {
        (clamp_u16(self.x.min(self.cols - 1)), clamp_u16(self.y))
    }

    /// Whether the cursor is shown.
    pub(crate) fn cursor_visible(&self) -> bool {
        self.cursor_visible
    }

    /// Whether the alternate screen is active.
    pub(crate) fn alternate_on(&self) -> bool {
        self.primary.is_some()
    }

    /// The screen as text: rows without trailing blanks, joined by CRLF, trailing blank rows
    /// left out.
    pub(crate) fn content(&self) -> String {
        let mut lines: Vec<String> = self
            .grid
            .iter()
            .map(|row| row.iter().collect::<String>().trim_end().to_string())
            .collect();
        while lines.last().is_some_and(String::is_empty) {
            lines.pop();
        }
        lines.join("\r\n")
    }

    /// Changes the size, keeping the text around the cursor: rows that no longer fit above
    /// it scroll off the top.
    pub(crate) fn resize(&mut self, cols: u16, rows: u16) {
        let (cols, rows) = (usize::from(cols.max(1)), usize::from(rows.max(1)));
        let drop_top = (self.y + 1).saturating_sub(rows);
        self.grid.drain(..drop_top.min(self.grid.len()));
        self.grid.resize_with(rows, Vec::new);
        for row in &mut self.grid {
            row.resize(cols, ' ');
        }
        self.y -= drop_top;
        self.cols = cols;
        self.rows = rows;
        self.x = self.x.min(cols);
        if let Some(saved) = &mut self.primary {
            saved.grid.resize_with(rows, Vec::new);
            for row in &mut saved.grid {
                row.resize(cols, ' ');
            }
            saved.x = saved.x.min(cols);
            saved.y = saved.y.min(rows - 1);
        }
    }

    /// Applies terminal output.
    pub(crate) fn feed(&mut self, bytes: &[u8]) {
        for &byte in bytes {
            self.byte(byte);
        }
    }

    fn byte(&mut self, byte: u8) {
        match std::mem::take(&mut self.parse) {
            Parse::Ground => self.ground(byte),
            Parse::Escape => match byte {
                b'[' => self.parse = Parse::Csi(String::new()),
                b']' => self.parse = Parse::Osc(false),
                b'c' => *self = Screen::new(clamp_u16(self.cols), clamp_u16(self.rows)),
                b'D' => self.line_feed(),
                b'E' => {
                    self.x = 0;
                    self.line_feed();
                }
                _ => {}
            },
            Parse::Csi(mut params) => {
                if (0x40..=0x7e).contains(&byte) {
                    self.csi(&params, byte);
                } else if params.len() < MAX_CSI_PARAMS {
                    params.push(char::from(byte));
                    self.parse = Parse::Csi(params);
                } else {
                    self.parse = Parse::Csi(params);
                }
            }
            Parse::Osc(after_esc) => match byte {
                0x07 => {}
                b'\\' if after_esc => {}
                0x1b => self.parse = Parse::Osc(true),
                _ => self.parse = Parse::Osc(false),
            },
        }
    }

    fn ground(&mut self, byte: u8) {
        if byte >= 0x80 || !self.utf8.is_empty() {
            return self.utf8_byte(byte);
        }
        match byte {
            0x1b => self.parse = Parse::Escape,
            b'\r' => self.x = 0,
            b'\n' | 0x0b | 0x0c => self.line_feed(),
            0x08 => self.x = self.x.min(self.cols - 1).saturating_sub(1),
            b'\t' => self.x = ((self.x / TAB_WIDTH + 1) * TAB_WIDTH).min(self.cols - 1),
            0x20..=0x7e => self.print(char::from(byte)),
            _ => {}
        }
    }

    fn utf8_byte(&mut self, byte: u8) {
        let starts = byte & 0xc0 != 0x80;
        if starts && !self.utf8.is_empty() {
            // A new character before the old one finished: the old one is broken.
            self.utf8.clear();
            self.print(char::REPLACEMENT_CHARACTER);
        }
        if byte < 0x80 {
            return self.ground(byte);
        }
        self.utf8.push(byte);
        let need = match self.utf8[0] {
            0xc0..=0xdf => 2,
            0xe0..=0xef => 3,
            0xf0..=0xf7 => 4,
            _ => 1,
        };
        if self.utf8.len() >= need {
            let c = std::str::from_utf8(&self.utf8)
                .ok()
                .and_then(|s| s.chars().next())
                .unwrap_or(char::REPLACEMENT_CHARACTER);
            self.utf8.clear();
            self.print(c);
        }
    }

    fn print(&mut self, c: char) {
        if self.x >= self.cols {
            self.x = 0;
            self.line_feed();
        }
        if let Some(cell) = self
            .grid
            .get_mut(self.y)
            .and_then(|row| row.get_mut(self.x))
        {
            *cell = c;
        }
        self.x += 1;
    }

    fn line_feed(&mut self) {
        if self.y + 1 < self.rows {
            self.y += 1;
        } else {
            self.grid.remove(0);
            self.grid.push(vec![' '; self.cols]);
        }
    }

    fn csi(&mut self, params: &str, last: u8) {
        let private = params.starts_with('?');
        let numbers: Vec<usize> = params
            .trim_start_matches('?')
            .split(';')
            .map(|p| p.parse().unwrap_or(0))
            .collect();
        let arg = |i: usize| numbers.get(i).copied().unwrap_or(0);
        let count = arg(0).max(1);
        match (private, last) {
            (false, b'A') => self.y = self.y.saturating_sub(count),
            (false, b'B') => self.y = (self.y + count).min(self.rows - 1),
            (false, b'C') => self.x = (self.x + count).min(self.cols - 1),
            (false, b'D') => self.x = self.x.min(self.cols - 1).saturating_sub(count),
            (false, b'G') => self.x = (count - 1).min(self.cols - 1),
            (false, b'd') => self.y = (count - 1).min(self.rows - 1),
            (false, b'H' | b'f') => {
                self.y = (arg(0).max(1) - 1).min(self.rows - 1);
                self.x = (arg(1).max(1) - 1).min(self.cols - 1);
            }
            (false, b'J') => self.erase_display(arg(0)),
            (false, b'K') => self.erase_line(arg(0)),
            (true, b'h' | b'l') => {
                let on = last == b'h';
                for mode in &numbers {
                    match mode {
                        25 => self.cursor_visible = on,
                        47 | 1047 | 1049 => self.set_alternate(on),
                        _ => {}
                    }
                }
            }
            _ => {}
        }
    }

    fn erase_display(&mut self, mode: usize) {
        let (x, y) = (self.x.min(self.cols - 1), self.y);
        match mode {
            0 => {
                self.erase_line(0);
                self.grid[y + 1..].iter_mut().for_each(|r| r.fill(' '));
            }
            1 => {
                self.grid[..y].iter_mut().for_each(|r| r.fill(' '));
                self.grid[y][..=x].fill(' ');
            }
            _ => self.grid = blank(self.cols, self.rows),
        }
    }

    fn erase_line(&mut self, mode: usize) {
        let x = self.x.min(self.cols - 1);
        let row = &mut self.grid[self.y];
        match mode {
            0 => row[x..].fill(' '),
            1 => row[..=x].fill(' '),
            _ => row.fill(' '),
        }
    }

    fn set_alternate(&mut self, on: bool) {
        match (on, self.primary.take()) {
            (true, None) => {
                let grid = std::mem::replace(&mut self.grid, blank(self.cols, self.rows));
                self.primary = Some(Saved {
                    grid,
                    x: self.x,
                    y: self.y,
                });
            }
            (false, Some(saved)) => {
                self.grid = saved.grid;
                self.x = saved.x;
                self.y = saved.y;
            }
            (_, saved) => self.primary = saved,
        }
    }
}

fn blank(cols: usize, rows: usize) -> Vec<Vec<char>> {
    vec![vec![' '; cols]; rows]
}

fn clamp_u16(n: usize) -> u16 {
    u16::try_from(n).unwrap_or(u16::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn screen(cols: u16, rows: u16, output: &str) -> Screen {
        let mut screen = Screen::new(cols, rows);
        screen.feed(output.as_bytes());
        screen
    }

    #[test]
    fn text_wraps_and_scrolls() {
        let s = screen(4, 2, "abcdef\r\nxy");
        assert_eq!(s.content(), "ef\r\nxy");
        assert_eq!(s.cursor(), (2, 1));
        let s = screen(10, 3, "a\r\nb\r\nc\r\nd");
        assert_eq!(s.content(), "b\r\nc\r\nd");
    }

    #[test]
    fn cursor_moves_and_erases() {
        let s = screen(10, 3, "hello\x08\x08XY\x1b[2;3Hz\x1b[1;1H\x1b[K");
        assert_eq!(s.content(), "\r\n  z");
        assert_eq!(s.cursor(), (0, 0));
        let s = screen(10, 3, "abc\r\ndef\x1b[2J");
        assert_eq!(s.content(), "");
        assert_eq!(s.cursor(), (3, 1), "2J keeps the cursor");
        let s = screen(20, 2, "\x1b]0;title\x07ok\x1b[31mred\x1b[0m");
        assert_eq!(s.content(), "okred");
    }

    #[test]
    fn modes() {
        let mut s = screen(10, 3, "main\x1b[?25l\x1b[?1049hfull");
        assert!(!s.cursor_visible());
        assert!(s.alternate_on());
        assert_eq!(s.content(), "    full");
        s.feed(b"\x1b[?1049l\x1b[?25h");
        assert!(!s.alternate_on() && s.cursor_visible());
        assert_eq!(s.content(), "main");
    }

    #[test]
    fn utf8_even_when_split() {
        let mut s = Screen::new(10, 2);
        let bytes = "é€😀".as_bytes();
        s.feed(&bytes[..1]);
        s.feed(&bytes[1..4]);
        s.feed(&bytes[4..]);
        s.feed(b"\xff!");
        assert_eq!(s.content(), "é€😀\u{fffd}!");
    }

    #[test]
    fn resize_keeps_the_cursor_line() {
        let mut s = screen(10, 4, "1\r\n2\r\n3\r\n4");
        s.resize(3, 2);
        assert_eq!(s.content(), "3\r\n4");
        assert_eq!((s.size(), s.cursor()), ((3, 2), (1, 1)));
        s.resize(5, 3);
        assert_eq!(s.content(), "3\r\n4");
        s.feed(b"\r\nabcdefg");
        assert_eq!(s.content(), "4\r\nabcde\r\nfg");
    }

    #[test]
    fn hostile_output_does_not_panic() {
        let mut s = Screen::new(1, 1);
        s.feed(b"\x1b[999;999H\x1b[99999999999999999999A\x1b[1J\x1b[0J\x1b[2K\x1b[1K");
        s.feed(&[0x1b, b'[']);
        s.feed(&[b'1'; 100]);
        s.feed(b"m\x1b]unterminated\x1b\\\x08\x08\t\t\x1bc");
        s.resize(0, 0);
        s.feed(b"xyz\x1b[?1049h\x1b[?1049h");
        s.resize(3, 3);
        s.feed(b"\x1b[?1049l");
        assert_eq!(s.size(), (3, 3));
    }
}
