//! A minimal, bounds-checked reader for FlatBuffers binaries.
//!
//! Only what the TFLite schema needs: tables with vtables, scalars, strings, vectors of scalars and
//! vectors of tables. Every read is checked, so a truncated or corrupt file gives an error instead of
//! a panic. No code generation: the schema knowledge lives in `tflite.rs` as field ids.

use super::convert::ConvertError;

fn err(what: impl Into<String>) -> ConvertError {
    ConvertError::Flatbuffer(what.into())
}

fn read_bytes<const N: usize>(buf: &[u8], pos: usize) -> Result<[u8; N], ConvertError> {
    pos.checked_add(N)
        .and_then(|end| buf.get(pos..end))
        .map(|s| s.try_into().expect("slice of length N"))
        .ok_or_else(|| err(format!("read of {N} bytes at {pos} is out of bounds")))
}

fn read_u16(buf: &[u8], pos: usize) -> Result<u16, ConvertError> {
    read_bytes::<2>(buf, pos).map(u16::from_le_bytes)
}

fn read_u32(buf: &[u8], pos: usize) -> Result<u32, ConvertError> {
    read_bytes::<4>(buf, pos).map(u32::from_le_bytes)
}

/// Follows a `uoffset_t` stored at `pos` (offsets are relative to their own position).
fn follow(buf: &[u8], pos: usize) -> Result<usize, ConvertError> {
    let off = read_u32(buf, pos)? as usize;
    pos.checked_add(off)
        .filter(|&p| p < buf.len())
        .ok_or_else(|| err(format!("offset at {pos} points outside the buffer")))
}

/// One table: its position and the buffer it lives in.
#[derive(Clone, Copy, Debug)]
pub struct Table<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Table<'a> {
    /// The root table of a FlatBuffers binary (the first 4 bytes are the offset to it).
    pub fn root(buf: &'a [u8]) -> Result<Self, ConvertError> {
        Ok(Table {
            buf,
            pos: follow(buf, 0)?,
        })
    }

    /// Position of field `id`'s value, or `None` when the field is absent (default value).
    fn field_pos(&self, id: u16) -> Result<Option<usize>, ConvertError> {
        let soffset = i32::from_le_bytes(read_bytes::<4>(self.buf, self.pos)?);
        let vtable = (self.pos as i64 - soffset as i64)
            .try_into()
            .map_err(|_| err(format!("vtable of table at {} is out of bounds", self.pos)))?;
        let vtable_len = read_u16(self.buf, vtable)? as usize;
        let slot = 4 + 2 * id as usize;
        if slot + 2 > vtable_len {
            return Ok(None);
        }
        match read_u16(self.buf, vtable + slot)? {
            0 => Ok(None),
            off => Ok(Some(self.pos + off as usize)),
        }
    }

    pub fn u8(&self, id: u16, default: u8) -> Result<u8, ConvertError> {
        Ok(match self.field_pos(id)? {
            Some(p) => read_bytes::<1>(self.buf, p)?[0],
            None => default,
        })
    }

    pub fn i8(&self, id: u16, default: i8) -> Result<i8, ConvertError> {
        Ok(self.u8(id, default as u8)? as i8)
    }

    pub fn bool(&self, id: u16) -> Result<bool, ConvertError> {
        Ok(self.u8(id, 0)? != 0)
    }

    pub fn i32(&self, id: u16, default: i32) -> Result<i32, ConvertError> {
        Ok(match self.field_pos(id)? {
            Some(p) => i32::from_le_bytes(read_bytes::<4>(self.buf, p)?),
            None => default,
        })
    }

    pub fn u32(&self, id: u16, default: u32) -> Result<u32, ConvertError> {
        Ok(match self.field_pos(id)? {
            Some(p) => read_u32(self.buf, p)?,
            None => default,
        })
    }

    pub fn u64(&self, id: u16, default: u64) -> Result<u64, ConvertError> {
        Ok(match self.field_pos(id)? {
            Some(p) => u64::from_le_bytes(read_bytes::<8>(self.buf, p)?),
            None => default,
        })
    }

    /// A sub-table (also the value of a union field).
    pub fn table(&self, id: u16) -> Result<Option<Table<'a>>, ConvertError> {
        self.field_pos(id)?
            .map(|p| {
                Ok(Table {
                    buf: self.buf,
                    pos: follow(self.buf, p)?,
                })
            })
            .transpose()
    }

    pub fn string(&self, id: u16) -> Result<Option<&'a str>, ConvertError> {
        let Some(v) = self.vector(id)? else {
            return Ok(None);
        };
        let bytes = v.bytes(1)?;
        std::str::from_utf8(bytes)
            .map(Some)
            .map_err(|_| err("string is not UTF-8"))
    }

    pub fn vector(&self, id: u16) -> Result<Option<Vector<'a>>, ConvertError> {
        let Some(p) = self.field_pos(id)? else {
            return Ok(None);
        };
        let start = follow(self.buf, p)?;
        let len = read_u32(self.buf, start)? as usize;
        Ok(Some(Vector {
            buf: self.buf,
            start: start + 4,
            len,
        }))
    }
}

/// A vector: `len` elements starting at `start`.
#[derive(Clone, Copy, Debug)]
pub struct Vector<'a> {
    buf: &'a [u8],
    start: usize,
    len: usize,
}

impl<'a> Vector<'a> {
    pub fn len(&self) -> usize {
        self.len
    }

    /// The raw element bytes, for elements of `elem_size` bytes each.
    pub fn bytes(&self, elem_size: usize) -> Result<&'a [u8], ConvertError> {
        self.len
            .checked_mul(elem_size)
            .and_then(|n| self.start.checked_add(n))
            .and_then(|end| self.buf.get(self.start..end))
            .ok_or_else(|| {
                err(format!(
                    "vector of {} elements at {} is out of bounds",
                    self.len, self.start
                ))
            })
    }

    pub fn i32s(&self) -> Result<Vec<i32>, ConvertError> {
        Ok(le_values(self.bytes(4)?, i32::from_le_bytes))
    }

    pub fn u16s(&self) -> Result<Vec<u16>, ConvertError> {
        Ok(le_values(self.bytes(2)?, u16::from_le_bytes))
    }

    /// Element `i` of a vector of tables.
    pub fn table(&self, i: usize) -> Result<Table<'a>, ConvertError> {
        if i >= self.len {
            return Err(err(format!("table index {i} out of {}", self.len)));
        }
        Ok(Table {
            buf: self.buf,
            pos: follow(self.buf, self.start + 4 * i)?,
        })
    }

    pub fn tables(&self) -> Result<Vec<Table<'a>>, ConvertError> {
        (0..self.len).map(|i| self.table(i)).collect()
    }
}

/// Little-endian elements of N bytes each (a partial last element is left out).
pub fn le_values<T, const N: usize>(data: &[u8], decode: impl Fn([u8; N]) -> T) -> Vec<T> {
    data.chunks_exact(N)
        .map(|c| decode(c.try_into().expect("chunks of N bytes")))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Hand-built buffer: root table with field 0 = i32 7, field 1 absent, field 2 = vector [1, 2, 3],
    /// field 3 = string "ab".
    fn sample() -> Vec<u8> {
        let mut b = Vec::new();
        b.extend_from_slice(&16u32.to_le_bytes()); // 0: root -> 16
        b.extend_from_slice(&12u16.to_le_bytes()); // 4: vtable len
        b.extend_from_slice(&16u16.to_le_bytes()); // 6: table len
        b.extend_from_slice(&4u16.to_le_bytes()); // 8: field 0 at +4
        b.extend_from_slice(&0u16.to_le_bytes()); // 10: field 1 absent
        b.extend_from_slice(&8u16.to_le_bytes()); // 12: field 2 at +8
        b.extend_from_slice(&12u16.to_le_bytes()); // 14: field 3 at +12
        b.extend_from_slice(&12i32.to_le_bytes()); // 16: soffset -> vtable at 4
        b.extend_from_slice(&7i32.to_le_bytes()); // 20: field 0
        b.extend_from_slice(&8u32.to_le_bytes()); // 24: field 2 -> 32
        b.extend_from_slice(&24u32.to_le_bytes()); // 28: field 3 -> 52
        b.extend_from_slice(&3u32.to_le_bytes()); // 32: vector len
        for v in [1i32, 2, 3] {
            b.extend_from_slice(&v.to_le_bytes()); // 36, 40, 44
        }
        b.extend_from_slice(&[0; 4]); // 48: padding
        b.extend_from_slice(&2u32.to_le_bytes()); // 52: string len
        b.extend_from_slice(b"ab\0\0");
        b
    }

    #[test]
    fn reads_scalars_vectors_strings_and_defaults() {
        let buf = sample();
        let t = Table::root(&buf).unwrap();
        assert_eq!(t.i32(0, 0).unwrap(), 7);
        assert_eq!(t.i32(1, 42).unwrap(), 42, "absent field gives the default");
        assert_eq!(
            t.i32(9, -1).unwrap(),
            -1,
            "field beyond the vtable gives the default"
        );
        assert_eq!(t.vector(2).unwrap().unwrap().i32s().unwrap(), vec![1, 2, 3]);
        assert_eq!(t.string(3).unwrap(), Some("ab"));
        assert!(t.vector(1).unwrap().is_none());
    }

    #[test]
    fn truncated_buffer_is_an_error_not_a_panic() {
        let buf = sample();
        for cut in [0, 3, 10, 18, 30, 40] {
            let short = &buf[..cut];
            let r = Table::root(short).and_then(|t| t.vector(2)?.map(|v| v.i32s()).transpose());
            assert!(r.is_err(), "cut at {cut} must fail");
        }
    }
}
