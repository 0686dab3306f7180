//! Stored tensor bytes to f32: one decoder for `.pth` and safetensors, which both store their
//! elements little endian (PyTorch's zip format writes little endian on every platform).

/// An element type a checkpoint may store (what each reader's own dtype maps to).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Element {
    F32,
    F64,
    F16,
    BF16,
    /// Integer buffers (`relative_position_index`) are read for completeness and ignored.
    I64,
    I32,
    U8,
    /// The quantized weights of a q8 model file (their integer values; scaled by `super::q8`).
    I8,
}

impl Element {
    pub(super) fn size(self) -> usize {
        match self {
            Element::F64 | Element::I64 => 8,
            Element::F32 | Element::I32 => 4,
            Element::F16 | Element::BF16 => 2,
            Element::U8 | Element::I8 => 1,
        }
    }
}

/// The `numel` elements of `bytes` (little endian) as f32, or why the byte count is wrong.
pub(super) fn decode_le(
    e: Element,
    bytes: &[u8],
    numel: usize,
) -> std::result::Result<Vec<f32>, String> {
    let want = numel * e.size();
    if bytes.len() != want {
        return Err(format!(
            "{} bytes of data; {numel} {e:?} elements need {want}",
            bytes.len()
        ));
    }
    fn each<const N: usize>(b: &[u8], f: impl Fn([u8; N]) -> f32) -> Vec<f32> {
        b.chunks_exact(N)
            .map(|c| f(c.try_into().expect("N bytes")))
            .collect()
    }
    Ok(match e {
        Element::F32 => each(bytes, f32::from_le_bytes),
        Element::F64 => each(bytes, |c| f64::from_le_bytes(c) as f32),
        Element::F16 => each(bytes, |c| half::f16::from_le_bytes(c).to_f32()),
        Element::BF16 => each(bytes, |c| half::bf16::from_le_bytes(c).to_f32()),
        Element::I64 => each(bytes, |c| i64::from_le_bytes(c) as f32),
        Element::I32 => each(bytes, |c| i32::from_le_bytes(c) as f32),
        Element::U8 => bytes.iter().map(|&v| v as f32).collect(),
        Element::I8 => bytes.iter().map(|&v| v as i8 as f32).collect(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// 1.5 and -2 as IEEE 754 bit patterns written low byte first (the formats' order; on a
    /// big-endian machine a native-endian decoder reads other numbers).
    #[test]
    fn each_type_reads_little_endian() {
        let cases: [(Element, &[u8]); 8] = [
            (
                Element::F32,
                &[0x00, 0x00, 0xc0, 0x3f, 0x00, 0x00, 0x00, 0xc0],
            ),
            (
                Element::F64,
                &[0, 0, 0, 0, 0, 0, 0xf8, 0x3f, 0, 0, 0, 0, 0, 0, 0, 0xc0],
            ),
            (Element::F16, &[0x00, 0x3e, 0x00, 0xc0]),
            (Element::BF16, &[0xc0, 0x3f, 0x00, 0xc0]),
            (
                Element::I64,
                &[
                    2, 0, 0, 0, 0, 0, 0, 0, 0xfe, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
                ],
            ),
            (Element::I32, &[2, 0, 0, 0, 0xfe, 0xff, 0xff, 0xff]),
            (Element::U8, &[2, 254]),
            (Element::I8, &[2, 254]),
        ];
        for (e, bytes) in cases {
            let want = match e {
                Element::I64 | Element::I32 | Element::I8 => [2.0, -2.0],
                Element::U8 => [2.0, 254.0],
                _ => [1.5, -2.0],
            };
            assert_eq!(decode_le(e, bytes, 2).unwrap(), want, "{e:?}");
        }
    }

    #[test]
    fn a_short_buffer_is_an_error_with_both_sizes() {
        let err = decode_le(Element::F16, &[0, 0x3c, 0], 2).unwrap_err();
        assert_eq!(err, "3 bytes of data; 2 F16 elements need 4");
    }
}
