//! COCO run-length encoding, as pycocotools' `encode` writes it: the mask format of `vidt
//! detect`'s JSON (ViDT+ masks), COCO annotations and results. Here, below `detect` and `coco`,
//! because both read and write it.

use serde::{Deserialize, Serialize};

/// A binary mask as COCO run-length encoding: `size` = `[height, width]`, `counts` the
/// compressed string of pycocotools (column-major runs, the first of zeros).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Rle {
    pub size: [usize; 2],
    pub counts: String,
}

/// The column-major runs (the first of zeros) of an `h x w` row-major mask, as pycocotools
/// counts them (`rleEncode`).
pub fn mask_runs(mask: &[u8], (h, w): (usize, usize)) -> Vec<u64> {
    let mut runs = Vec::new();
    let (mut prev, mut run) = (0u8, 0u64);
    for x in 0..w {
        for y in 0..h {
            let v = (mask[y * w + x] != 0) as u8;
            if v != prev {
                runs.push(run);
                run = 0;
                prev = v;
            }
            run += 1;
        }
    }
    runs.push(run);
    runs
}

/// The `h x w` row-major mask of column-major runs (the first of zeros) that cover it.
pub fn runs_to_mask(runs: &[u64], (h, w): (usize, usize)) -> Vec<u8> {
    let mut out = vec![0u8; h * w];
    let mut at = 0usize;
    for (i, &r) in runs.iter().enumerate() {
        for q in at..at + r as usize {
            // Column-major position q: row q % h, column q / h.
            out[(q % h) * w + q / h] = (i % 2) as u8;
        }
        at += r as usize;
    }
    out
}

/// pycocotools' `encode` (`rleEncode` + `rleToString`) of an `h x w` row-major mask.
pub fn rle_encode(mask: &[u8], (h, w): (usize, usize)) -> Rle {
    let runs: Vec<i64> = mask_runs(mask, (h, w))
        .into_iter()
        .map(|r| r as i64)
        .collect();
    let mut s = String::new();
    for i in 0..runs.len() {
        // Runs after the third are stored as differences from the run two before.
        let mut x = if i > 2 {
            runs[i] - runs[i - 2]
        } else {
            runs[i]
        };
        loop {
            let mut c = (x & 0x1f) as u8;
            x >>= 5;
            let more = if c & 0x10 != 0 { x != -1 } else { x != 0 };
            if more {
                c |= 0x20;
            }
            s.push((c + 48) as char);
            if !more {
                break;
            }
        }
    }
    Rle {
        size: [h, w],
        counts: s,
    }
}

impl Rle {
    /// pycocotools' `decode` (`rleFrString` + `rleDecode`): the `h x w` mask, row-major; an
    /// error names what is wrong with a malformed string.
    pub fn decode(&self) -> Result<Vec<u8>, String> {
        let [h, w] = self.size;
        let runs: Vec<u64> = self.runs()?.into_iter().map(|r| r as u64).collect();
        Ok(runs_to_mask(&runs, (h, w)))
    }

    /// The column-major runs (the first of zeros), checked to cover the mask exactly.
    pub fn runs(&self) -> Result<Vec<i64>, String> {
        let [h, w] = self.size;
        let bytes = self.counts.as_bytes();
        let mut runs: Vec<i64> = Vec::new();
        let mut p = 0;
        while p < bytes.len() {
            let (mut x, mut k) = (0i64, 0);
            loop {
                let Some(c) = bytes.get(p).map(|&b| b as i64 - 48) else {
                    return Err(format!("counts end inside a run at byte {p}"));
                };
                if !(0..64).contains(&c) || k > 12 {
                    return Err(format!("byte {p} of counts is not an RLE digit"));
                }
                x |= (c & 0x1f) << (5 * k);
                p += 1;
                k += 1;
                if c & 0x20 == 0 {
                    if c & 0x10 != 0 {
                        x |= -1i64 << (5 * k);
                    }
                    break;
                }
            }
            if runs.len() > 2 {
                x += runs[runs.len() - 2];
            }
            runs.push(x);
        }
        if runs.iter().any(|&r| r < 0) || runs.iter().sum::<i64>() != (h * w) as i64 {
            return Err(format!("runs do not cover the {h}x{w} mask"));
        }
        Ok(runs)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rle_decode_inverts_encode() {
        let mut rng = crate::rng::Rng::new(9);
        for (h, w) in [(1, 1), (3, 5), (37, 41), (64, 3)] {
            let m: Vec<u8> = (0..h * w).map(|_| (rng.unit() < 0.4) as u8).collect();
            assert_eq!(rle_encode(&m, (h, w)).decode().unwrap(), m, "{h}x{w}");
        }
        let bad = Rle {
            size: [2, 2],
            counts: "0".into(),
        };
        assert!(bad.decode().is_err());
    }

    #[test]
    fn rle_counts_are_column_major_runs() {
        // 2x3, column-major 0,1 | 1,1 | 0,0 -> runs 1,3,2: "1" "3" "2" + 48.
        let m = [0, 1, 0, 1, 1, 0];
        assert_eq!(rle_encode(&m, (2, 3)).counts, "132");
        // All ones: a zero-length first run.
        assert_eq!(rle_encode(&[1; 4], (2, 2)).counts, "04");
    }
}
