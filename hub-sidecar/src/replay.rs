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

/// The replay window of one session.
#[derive(Debug)]
pub struct ReplayBuffer {
    frames: VecDeque<(u64, Bytes)>,
    bytes: usize,
    capacity: usize,
    /// The seq of the newest frame seen, kept when the buffer is empty.
    last_seq: Option<u64>,
    /// The first seq of the current run: a browser resumes only from a frame it got in it.
    run_start: u64,
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
            run_start: 0,
        }
    }

    /// Records an encoded frame. Returns false for a duplicate (a `seq` already passed on):
    /// it must not be sent again.
    pub fn push(&mut self, seq: u64, frame: Bytes) -> bool {
        match self.last_seq {
            Some(last) if seq == last => return false,
            Some(last) if seq == last.wrapping_add(1) => {}
            // A jump forward or a restart: the run is broken, start a new one.
            Some(_) => {
                self.clear();
                self.run_start = seq;
            }
            None => self.run_start = seq,
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

    /// The frames from seq `first` on, in order (none when `first` is the next to come); or,
    /// when some of them are no longer here (or were never sent), `Err` with the first seq the
    /// browser will get live: the newest kept plus one (0 if none was ever seen).
    pub fn frames_from(&self, first: u64) -> Result<impl Iterator<Item = (u64, &Bytes)> + '_, u64> {
        let Some(newest) = self.last_seq else {
            return Err(0);
        };
        let next = newest.wrapping_add(1);
        let oldest = self.frames.front().map_or(next, |(seq, _)| *seq);
        if first <= self.run_start || first < oldest || first > next {
            return Err(next);
        }
        let skip = usize::try_from(first - oldest).map_err(|_| next)?;
        Ok(self.frames.range(skip..).map(|(seq, frame)| (*seq, frame)))
    }

    /// Forgets the frames, keeping the newest seq: output went by that the buffer did not see
    /// (the gateway's greeting snapshot covers it), so nobody may resume from before here.
    pub fn break_run(&mut self) {
        self.clear();
        self.run_start = self.last_seq.map_or(0, |seq| seq.wrapping_add(1));
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

    fn seqs(buffer: &ReplayBuffer, first: u64) -> Vec<u64> {
        match buffer.frames_from(first) {
            Ok(frames) => frames
                .map(|(seq, f)| {
                    assert_eq!(u64::from_be_bytes(f[..8].try_into().unwrap()), seq);
                    seq
                })
                .collect(),
            Err(next) => panic!("gap, next {next}"),
        }
    }

    fn gap(buffer: &ReplayBuffer, first: u64) -> Option<u64> {
        buffer.frames_from(first).err()
    }

    #[test]
    fn resumes_exactly_after_last_seq() {
        let mut buffer = ReplayBuffer::default();
        for seq in 0..10 {
            assert!(buffer.push(seq, frame(seq, 100)));
        }
        assert_eq!(seqs(&buffer, 4), (4..10).collect::<Vec<_>>());
        assert_eq!(seqs(&buffer, 10), Vec::<u64>::new());
        assert_eq!(gap(&buffer, 11), Some(10));
    }

    #[test]
    fn drops_duplicates() {
        let mut buffer = ReplayBuffer::default();
        assert!(buffer.push(0, frame(0, 16)));
        assert!(!buffer.push(0, frame(0, 16)));
        assert_eq!(seqs(&buffer, 1), Vec::<u64>::new());
    }

    #[test]
    fn old_frames_fall_out_of_the_window() {
        let mut buffer = ReplayBuffer::with_capacity(1000);
        for seq in 0..20 {
            buffer.push(seq, frame(seq, 100));
        }
        assert!(buffer.bytes() <= 1000);
        assert_eq!(gap(&buffer, 6), Some(20));
        assert_eq!(seqs(&buffer, 10), (10..20).collect::<Vec<_>>());
    }

    #[test]
    fn a_jump_starts_a_new_run() {
        let mut buffer = ReplayBuffer::default();
        for seq in 0..5 {
            buffer.push(seq, frame(seq, 16));
        }
        buffer.push(9, frame(9, 16));
        assert_eq!(gap(&buffer, 3), Some(10));
        // Nobody can have had 8: whoever asks from 9 missed the jump.
        assert_eq!(gap(&buffer, 9), Some(10));
        buffer.push(10, frame(10, 16));
        assert_eq!(seqs(&buffer, 10), vec![10]);
        // A restart from 0 also starts over.
        buffer.push(0, frame(0, 16));
        assert_eq!(buffer.last_seq(), Some(0));
        assert_eq!(gap(&buffer, 11), Some(1));
        // A broken run serves nobody from before the break, and goes on after it.
        buffer.push(1, frame(1, 16));
        buffer.break_run();
        assert_eq!(gap(&buffer, 1), Some(2));
        // Frame 1 came before the break: whoever had it missed what the break covers.
        assert_eq!(gap(&buffer, 2), Some(2));
        buffer.push(2, frame(2, 16));
        buffer.push(3, frame(3, 16));
        assert_eq!(gap(&buffer, 2), Some(4));
        assert_eq!(seqs(&buffer, 3), vec![3]);
    }

    #[test]
    fn an_empty_buffer_has_nothing_to_replay() {
        assert_eq!(gap(&ReplayBuffer::default(), 1), Some(0));
    }
}
