//! A blob streamed out of the object database. libgit2 inflates a packed
//! object whole into memory before handing it over: a 500 MB base file
//! meant 500 MB held, and its inflation on the critical path before the
//! first row was parsed. A blob stored whole — loose, or undeltified in a
//! pack, as git stores most large files — is inflated here instead, a
//! chunk at a time on a thread of its own while the reader parses.
//! Anything else (a delta, an alternate object store, an old index format)
//! is left to libgit2.

use std::fs::File;
use std::io::{self, BufRead, BufReader, Read, Seek, SeekFrom};
use std::path::Path;
use std::sync::mpsc::{Receiver, SyncSender, sync_channel};

use flate2::bufread::ZlibDecoder;

/// A blob's size and a reader of its bytes.
pub struct Streamed {
    pub size: u64,
    pub reader: Box<dyn Read + Send>,
}

/// The blob `id` (20 bytes) of the repository at `git_dir`, streamed, when
/// it is stored whole and holds at least `from` bytes; `None` when libgit2
/// is to read it. Nothing is inflated for a blob that is not streamed.
pub fn open(git_dir: &Path, id: &[u8; 20], from: u64) -> io::Result<Option<Streamed>> {
    let objects = git_dir.join("objects");
    let hex = hex::encode(id);
    let loose = objects.join(&hex[..2]).join(&hex[2..]);
    if let Ok(file) = File::open(&loose) {
        return loose_blob(file, from);
    }
    let Ok(entries) = std::fs::read_dir(objects.join("pack")) else {
        return Ok(None);
    };
    for entry in entries.flatten() {
        let index = entry.path();
        if index.extension().is_none_or(|e| e != "idx") {
            continue;
        }
        if let Some(offset) = pack_offset(&index, id)? {
            return packed_blob(&index.with_extension("pack"), offset, from);
        }
    }
    Ok(None)
}

/// A loose object: `blob <size>\0` and the bytes, all deflated.
fn loose_blob(file: File, from: u64) -> io::Result<Option<Streamed>> {
    let mut inflated = BufReader::new(ZlibDecoder::new(BufReader::new(file)));
    let mut header = Vec::new();
    inflated.read_until(0, &mut header)?;
    let size = header
        .strip_prefix(b"blob ")
        .and_then(|rest| rest.strip_suffix(b"\0"))
        .and_then(|digits| std::str::from_utf8(digits).ok()?.parse::<u64>().ok())
        .ok_or_else(|| corrupt("a loose object's header is not a blob's"))?;
    Ok((size >= from).then(|| Streamed {
        size,
        reader: background(Box::new(inflated), size),
    }))
}

/// Where object `id` starts in the pack of version-2 index `index`.
fn pack_offset(index: &Path, id: &[u8; 20]) -> io::Result<Option<u64>> {
    let mut file = BufReader::new(File::open(index)?);
    let mut head = [0u8; 8 + 256 * 4];
    file.read_exact(&mut head)?;
    if head[..8] != [0xff, b't', b'O', b'c', 0, 0, 0, 2] {
        return Ok(None); // version 1: left to libgit2
    }
    let fanout = |i: usize| u32::from_be_bytes(head[8 + i * 4..12 + i * 4].try_into().unwrap());
    let total = fanout(255) as u64;
    let first = id[0] as usize;
    let low = if first == 0 { 0 } else { fanout(first - 1) } as u64;
    let high = fanout(first) as u64;
    // The ids starting with the same byte are a sorted run.
    let mut ids = vec![0u8; ((high - low) * 20) as usize];
    file.seek(SeekFrom::Start(head.len() as u64 + low * 20))?;
    file.read_exact(&mut ids)?;
    let Ok(found) = ids
        .chunks_exact(20)
        .collect::<Vec<_>>()
        .binary_search(&&id[..])
    else {
        return Ok(None);
    };
    let position = low + found as u64;
    let offsets = head.len() as u64 + total * 24;
    let mut word = [0u8; 4];
    file.seek(SeekFrom::Start(offsets + position * 4))?;
    file.read_exact(&mut word)?;
    let offset = u32::from_be_bytes(word);
    if offset & 0x8000_0000 == 0 {
        return Ok(Some(offset as u64));
    }
    // Packs over 2 GiB keep large offsets in a table of their own.
    let large = offsets + total * 4 + (offset & 0x7fff_ffff) as u64 * 8;
    let mut long = [0u8; 8];
    file.seek(SeekFrom::Start(large))?;
    file.read_exact(&mut long)?;
    Ok(Some(u64::from_be_bytes(long)))
}

/// The object at `offset` of `pack`, when it is a whole blob.
fn packed_blob(pack: &Path, offset: u64, from: u64) -> io::Result<Option<Streamed>> {
    let mut file = File::open(pack)?;
    file.seek(SeekFrom::Start(offset))?;
    let mut file = BufReader::with_capacity(1 << 20, file);
    let mut byte = [0u8; 1];
    file.read_exact(&mut byte)?;
    const BLOB: u8 = 3;
    if (byte[0] >> 4) & 7 != BLOB {
        return Ok(None); // a delta (or not a blob): libgit2 resolves it
    }
    let mut size = (byte[0] & 0x0f) as u64;
    let mut shift = 4;
    while byte[0] & 0x80 != 0 {
        file.read_exact(&mut byte)?;
        if shift > 57 {
            return Err(corrupt("a pack entry's size does not fit"));
        }
        size |= ((byte[0] & 0x7f) as u64) << shift;
        shift += 7;
    }
    let inflated = ZlibDecoder::new(file);
    Ok((size >= from).then(|| Streamed {
        size,
        reader: background(Box::new(inflated), size),
    }))
}

fn corrupt(what: &str) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, what.to_string())
}

const CHUNK: usize = 4 << 20;

/// Inflates `source` on a thread of its own, a few chunks ahead of the
/// reader; the stream must hold exactly `size` bytes.
fn background(source: Box<dyn Read + Send>, size: u64) -> Box<dyn Read + Send> {
    let (sender, receiver) = sync_channel(2);
    std::thread::spawn(move || inflate(source, size, sender));
    Box::new(Chunks {
        receiver,
        chunk: Vec::new(),
        at: 0,
        ended: false,
    })
}

fn inflate(mut source: Box<dyn Read + Send>, size: u64, sender: SyncSender<io::Result<Vec<u8>>>) {
    let mut left = size;
    while left > 0 {
        let mut chunk = Vec::with_capacity(CHUNK.min(left as usize));
        match (&mut source).take(CHUNK as u64).read_to_end(&mut chunk) {
            Ok(0) => {
                let _ = sender.send(Err(corrupt("the object ends before its stated size")));
                return;
            }
            Ok(n) => left -= (n as u64).min(left),
            Err(e) => {
                let _ = sender.send(Err(e));
                return;
            }
        }
        if sender.send(Ok(chunk)).is_err() {
            return; // the reader is gone
        }
    }
    // Reading on to the stream's end makes zlib check its checksum.
    let mut rest = [0u8; 1];
    let end = match source.read(&mut rest) {
        Ok(0) => Ok(Vec::new()),
        Ok(_) => Err(corrupt("the object is longer than its stated size")),
        Err(e) => Err(e),
    };
    let _ = sender.send(end);
}

struct Chunks {
    receiver: Receiver<io::Result<Vec<u8>>>,
    chunk: Vec<u8>,
    at: usize,
    /// Whether the inflating thread said the object ended well.
    ended: bool,
}

impl Read for Chunks {
    fn read(&mut self, buffer: &mut [u8]) -> io::Result<usize> {
        while self.at == self.chunk.len() {
            if self.ended {
                return Ok(0);
            }
            match self.receiver.recv() {
                Ok(Ok(chunk)) if chunk.is_empty() => self.ended = true,
                Ok(Ok(chunk)) => (self.chunk, self.at) = (chunk, 0),
                Ok(Err(e)) => return Err(e),
                Err(_) => return Err(corrupt("inflating the object stopped before its end")),
            }
        }
        let n = buffer.len().min(self.chunk.len() - self.at);
        buffer[..n].copy_from_slice(&self.chunk[self.at..self.at + n]);
        self.at += n;
        Ok(n)
    }
}
