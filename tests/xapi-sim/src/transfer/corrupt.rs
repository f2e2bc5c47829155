//! A writer between the XVA writer and the wire that flips one byte in the data of one
//! chunk member (`<disk id>/<chunk number>`), so that the chunk no longer matches the
//! checksum member after it. It follows the tar headers going by to find the member, then
//! lets the rest through untouched.

use std::io::{self, Write};

/// Tar block size.
const BLOCK: usize = 512;

enum State {
    /// Collecting a member header.
    Header {
        block: Box<[u8; BLOCK]>,
        filled: usize,
    },
    /// Inside a member's data and padding; `flip_at` is the offset of the byte to flip.
    Data {
        remaining: u64,
        flip_at: Option<u64>,
    },
    /// The byte was flipped (or the archive ended): everything passes through.
    Pass,
}

/// See the module docs.
pub(crate) struct CorruptingWriter<W: Write> {
    out: W,
    target: String,
    state: State,
}

impl<W: Write> CorruptingWriter<W> {
    /// Corrupts member `<disk_id>/<chunk:08>` of the archive written through it.
    pub(crate) fn new(out: W, disk_id: &str, chunk: u64) -> Self {
        CorruptingWriter {
            out,
            target: format!("{disk_id}/{chunk:08}"),
            state: header_state(),
        }
    }

    fn on_header(&mut self, block: &[u8; BLOCK]) -> io::Result<()> {
        self.out.write_all(block)?;
        if block.iter().all(|&b| b == 0) {
            self.state = State::Pass;
            return Ok(());
        }
        let header = tar::Header::from_byte_slice(block);
        let size = header.entry_size()?;
        let hit = *header.path_bytes() == *self.target.as_bytes() && size > 0;
        self.state = State::Data {
            remaining: size + (BLOCK as u64 - size % BLOCK as u64) % BLOCK as u64,
            flip_at: hit.then_some(0),
        };
        Ok(())
    }
}

fn header_state() -> State {
    State::Header {
        block: Box::new([0; BLOCK]),
        filled: 0,
    }
}

impl<W: Write> Write for CorruptingWriter<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let mut input = buf;
        while !input.is_empty() {
            match &mut self.state {
                State::Pass => {
                    self.out.write_all(input)?;
                    break;
                }
                State::Header { block, filled } => {
                    let n = (BLOCK - *filled).min(input.len());
                    block[*filled..*filled + n].copy_from_slice(&input[..n]);
                    *filled += n;
                    input = &input[n..];
                    if *filled == BLOCK {
                        let block = block.clone();
                        self.on_header(&block)?;
                    }
                }
                State::Data { remaining, flip_at } => {
                    let n = (*remaining).min(input.len() as u64) as usize;
                    let flipped = match *flip_at {
                        Some(at) if (at as usize) < n => {
                            let mut copy = input[..n].to_vec();
                            copy[at as usize] ^= 0xFF;
                            self.out.write_all(&copy)?;
                            true
                        }
                        Some(at) => {
                            *flip_at = Some(at - n as u64);
                            self.out.write_all(&input[..n])?;
                            false
                        }
                        None => {
                            self.out.write_all(&input[..n])?;
                            false
                        }
                    };
                    *remaining -= n as u64;
                    input = &input[n..];
                    if flipped {
                        self.state = State::Pass;
                    } else if *remaining == 0 {
                        self.state = header_state();
                    }
                }
            }
        }
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        self.out.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn member(name: &str, data: &[u8]) -> Vec<u8> {
        let mut header = tar::Header::new_old();
        header.set_path(name).unwrap();
        header.set_size(data.len() as u64);
        header.set_cksum();
        let mut out = header.as_bytes().to_vec();
        out.extend_from_slice(data);
        out.resize(out.len().div_ceil(BLOCK) * BLOCK, 0);
        out
    }

    #[test]
    fn flips_one_byte_of_the_named_chunk_only() {
        let mut archive = member("ova.xml", b"<value/>");
        archive.extend(member("Ref:000/00000000", &[7; 1000]));
        archive.extend(member("Ref:000/00000001", &[7; 1000]));
        archive.extend([0; 1024]);
        let mut out = Vec::new();
        let mut writer = CorruptingWriter::new(&mut out, "Ref:000", 1);
        for piece in archive.chunks(300) {
            writer.write_all(piece).unwrap();
        }
        let differences: Vec<usize> = (0..out.len()).filter(|&i| out[i] != archive[i]).collect();
        assert_eq!(differences, [3 * BLOCK + 2 * BLOCK + BLOCK]);
    }
}
