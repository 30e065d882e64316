//! A session's recent output frames by `seq`, so a browser that reconnects with `last_seq=N`
//! gets exactly the frames after N.
//!
//! The buffer only ever holds one contiguous run of `seq`s. When the gateway's numbering jumps
//! (frames lost while it was away) or restarts, the run starts over: a browser asking from
//! before the jump cannot be served from here and gets a gap and a snapshot instead.

use std::collections::VecDeque;

use bytes::Bytes;

/// Output kept per session, at least (the last frame may push it slightly over).
pub const REPLAY_BYTES: usize = 2 * 1024 * 1024;

/// What a reconnecting browser gets from the buffer.
#[derive(Debug, PartialEq, Eq)]
pub enum Resume {
    /// Every frame after the browser's `last_seq`, in order (possibly none).
    Frames(Vec<Bytes>),
    /// The frames after `last_seq` are gone; `next` is the first seq the buffer can give.
    Gap {
        /// The first seq still known (or that will arrive next).
        next: u64,
    },
}

/// The replay window of one session.
#[derive(Debug)]
pub struct ReplayBuffer {
    frames: VecDeque<(u64, Bytes)>,
    bytes: usize,
    capacity: usize,
    /// The seq of the newest frame seen, kept when the buffer is empty.
    last_seq: Option<u64>,
}

impl Default for ReplayBuffer {
    fn default() -> Self {
        Self::with_capacity(REPLAY_BYTES)
    }
}

impl ReplayBuffer {
    /// A buffer keeping about `capacity` bytes of frames.
    pub fn with_capacity(capacity: usize) -> Self {
        Self {
            frames: VecDeque::new(),
            bytes: 0,
            capacity,
            last_seq: None,
        }
    }

    /// Records an encoded frame. Returns false for a duplicate (a `seq` already passed on):
    /// it must not be sent again.
    pub fn push(&mut self, seq: u64, frame: Bytes) -> bool {
        match self.last_seq {
            Some(last) if seq == last => return false,
            Some(last) if seq == last.wrapping_add(1) => {}
            // A jump forward or a restart: the run is broken, start a new one.
            Some(_) => self.clear(),
            None => {}
        }
        self.bytes += frame.len();
        self.frames.push_back((seq, frame));
        self.last_seq = Some(seq);
        while self.bytes > self.capacity && self.frames.len() > 1 {
            if let Some((_, old)) = self.frames.pop_front() {
                self.bytes -= old.len();
            }
        }
        true
    }

    /// The frames after `last_seq`, or a gap if some of them are no longer here.
    pub fn after(&self, last_seq: u64) -> Resume {
        let Some(newest) = self.last_seq else {
            return Resume::Gap { next: 0 };
        };
        if last_seq >= newest {
            return if last_seq == newest {
                Resume::Frames(Vec::new())
            } else {
                // The browser claims frames never sent: it belongs to an older run.
                Resume::Gap {
                    next: newest.wrapping_add(1),
                }
            };
        }
        let oldest = self.frames.front().map_or(newest, |(seq, _)| *seq);
        if last_seq.wrapping_add(1) < oldest {
            return Resume::Gap { next: oldest };
        }
        Resume::Frames(
            self.frames
                .iter()
                .filter(|(seq, _)| *seq > last_seq)
                .map(|(_, frame)| frame.clone())
                .collect(),
        )
    }

    /// The newest seq seen.
    pub fn last_seq(&self) -> Option<u64> {
        self.last_seq
    }

    /// Bytes held.
    pub fn bytes(&self) -> usize {
        self.bytes
    }

    fn clear(&mut self) {
        self.frames.clear();
        self.bytes = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frame(seq: u64, len: usize) -> Bytes {
        let mut bytes = vec![0u8; len];
        bytes[..8].copy_from_slice(&seq.to_be_bytes());
        Bytes::from(bytes)
    }

    fn seqs(resume: Resume) -> Vec<u64> {
        match resume {
            Resume::Frames(frames) => frames
                .iter()
                .map(|f| u64::from_be_bytes(f[..8].try_into().unwrap()))
                .collect(),
            Resume::Gap { next } => panic!("gap, next {next}"),
        }
    }

    #[test]
    fn resumes_exactly_after_last_seq() {
        let mut buffer = ReplayBuffer::default();
        for seq in 0..10 {
            assert!(buffer.push(seq, frame(seq, 100)));
        }
        assert_eq!(seqs(buffer.after(3)), (4..10).collect::<Vec<_>>());
        assert_eq!(seqs(buffer.after(9)), Vec::<u64>::new());
        assert_eq!(buffer.after(10), Resume::Gap { next: 10 });
    }

    #[test]
    fn drops_duplicates() {
        let mut buffer = ReplayBuffer::default();
        assert!(buffer.push(0, frame(0, 16)));
        assert!(!buffer.push(0, frame(0, 16)));
        assert_eq!(seqs(buffer.after(0)), Vec::<u64>::new());
    }

    #[test]
    fn old_frames_fall_out_of_the_window() {
        let mut buffer = ReplayBuffer::with_capacity(1000);
        for seq in 0..20 {
            buffer.push(seq, frame(seq, 100));
        }
        assert!(buffer.bytes() <= 1000);
        assert_eq!(buffer.after(5), Resume::Gap { next: 10 });
        assert_eq!(seqs(buffer.after(9)), (10..20).collect::<Vec<_>>());
    }

    #[test]
    fn a_jump_starts_a_new_run() {
        let mut buffer = ReplayBuffer::default();
        for seq in 0..5 {
            buffer.push(seq, frame(seq, 16));
        }
        buffer.push(9, frame(9, 16));
        assert_eq!(buffer.after(2), Resume::Gap { next: 9 });
        assert_eq!(seqs(buffer.after(8)), vec![9]);
        // A restart from 0 also starts over.
        buffer.push(0, frame(0, 16));
        assert_eq!(buffer.last_seq(), Some(0));
        assert_eq!(buffer.after(9), Resume::Gap { next: 1 });
    }

    #[test]
    fn an_empty_buffer_has_nothing_to_replay() {
        assert_eq!(ReplayBuffer::default().after(0), Resume::Gap { next: 0 });
    }
}
