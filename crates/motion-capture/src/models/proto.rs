//! A minimal Protocol Buffers encoder: just enough to write an ONNX `ModelProto`.
//!
//! Messages are built bottom-up into byte vectors; a nested message is written as a length-delimited
//! field holding the child's bytes. Field order is the call order, so output is deterministic.

/// Wire types of the encoding.
const VARINT: u32 = 0;
const LEN: u32 = 2;

/// An encoded message under construction.
#[derive(Default, Debug, Clone)]
pub struct Msg {
    buf: Vec<u8>,
}

fn put_varint(buf: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        buf.push((v as u8) | 0x80);
        v >>= 7;
    }
    buf.push(v as u8);
}

impl Msg {
    pub fn new() -> Self {
        Self::default()
    }

    fn tag(&mut self, field: u32, wire: u32) {
        put_varint(&mut self.buf, u64::from((field << 3) | wire));
    }

    /// int32/int64/enum field. Negative values take ten bytes (two's complement), as the encoding requires.
    pub fn int(&mut self, field: u32, v: i64) -> &mut Self {
        self.tag(field, VARINT);
        put_varint(&mut self.buf, v as u64);
        self
    }

    /// Repeated int64, unpacked (the proto2 default; readers accept both forms).
    pub fn ints(&mut self, field: u32, vs: &[i64]) -> &mut Self {
        for &v in vs {
            self.int(field, v);
        }
        self
    }

    pub fn bytes(&mut self, field: u32, b: &[u8]) -> &mut Self {
        self.tag(field, LEN);
        put_varint(&mut self.buf, b.len() as u64);
        self.buf.extend_from_slice(b);
        self
    }

    pub fn string(&mut self, field: u32, s: &str) -> &mut Self {
        self.bytes(field, s.as_bytes())
    }

    pub fn msg(&mut self, field: u32, m: &Msg) -> &mut Self {
        self.bytes(field, &m.buf)
    }

    pub fn into_bytes(self) -> Vec<u8> {
        self.buf
    }

    #[cfg(test)]
    pub fn as_bytes(&self) -> &[u8] {
        &self.buf
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn varints_match_the_encoding_examples() {
        // The encoding's documented example: field 1 = 150 encodes as 08 96 01.
        assert_eq!(Msg::new().int(1, 150).as_bytes(), &[0x08, 0x96, 0x01]);
        assert_eq!(Msg::new().int(2, 0).as_bytes(), &[0x10, 0x00]);
        // -1 as int64 is ten bytes.
        let neg = Msg::new().int(1, -1).clone().into_bytes();
        assert_eq!(neg.len(), 11);
        assert_eq!(
            &neg[1..],
            &[0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01]
        );
    }

    #[test]
    fn strings_and_nested_messages() {
        assert_eq!(
            Msg::new().string(2, "testing").as_bytes(),
            b"\x12\x07testing"
        );
        let mut inner = Msg::new();
        inner.int(1, 150);
        assert_eq!(
            Msg::new().msg(3, &inner).as_bytes(),
            &[0x1a, 0x03, 0x08, 0x96, 0x01]
        );
        assert_eq!(
            Msg::new().ints(1, &[1, 2]).as_bytes(),
            &[0x08, 0x01, 0x08, 0x02]
        );
    }
}
