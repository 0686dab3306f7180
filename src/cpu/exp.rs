//! `exp` written so that LLVM vectorizes a loop of it (libm's `expf` is a call per element, a
//! fifth of the window kernel's time): Cody-Waite reduction by ln 2, Cephes' degree-7 polynomial
//! on [-ln2/2, ln2/2], the power of two put in the exponent bits. Within 2 ulp of `f32::exp`
//! on [-87, 0], the range softmax's shifted scores use (tested); 0 below, where e^x < 1.7e-38
//! (nothing beside a softmax's largest term, which is 1).

const LOG2E: f32 = std::f32::consts::LOG2_E;
const LN2_HI: f32 = 0.693_359_4;
const LN2_LO: f32 = -2.121_944_4e-4;
/// 1.5 * 2^23: adding and subtracting it rounds to the nearest integer (no SSE4.1 `round`).
const ROUND: f32 = 12_582_912.0;

/// `e^x` for `x <= 0` (softmax's shifted scores); `x` below the normal range gives 0.
#[inline(always)]
pub fn exp_nonpositive(x: f32) -> f32 {
    let clamped = x.max(-87.0);
    let n = (clamped * LOG2E + ROUND) - ROUND;
    let r = clamped - n * LN2_HI - n * LN2_LO;
    let p = 1.987_569_1e-4;
    let p = p * r + 1.398_199_9e-3;
    let p = p * r + 8.333_452e-3;
    let p = p * r + 4.166_579_6e-2;
    let p = p * r + 1.666_666_5e-1;
    let p = p * r + 5.000_000_1e-1;
    let p = p * r * r + r + 1.0;
    // Wrapping: an overflow check (debug profiles) would keep the loop from vectorizing.
    let scale = f32::from_bits(((n as i32).wrapping_add(127) << 23) as u32);
    let y = p * scale;
    if x < -87.0 { 0.0 } else { y }
}

#[cfg(test)]
mod tests {
    use super::exp_nonpositive;

    /// Within 2 ulp of `f32::exp` on [-87, 0] (a million points) and 0 below.
    #[test]
    fn matches_std_exp() {
        let mut worst = 0u32;
        for i in 0..=1_000_000 {
            let x = -87.0 * i as f32 / 1_000_000.0;
            let (a, b) = (exp_nonpositive(x), x.exp());
            worst = worst.max(a.to_bits().abs_diff(b.to_bits()));
        }
        assert!(worst <= 2, "{worst} ulp");
        assert_eq!(exp_nonpositive(-100.0), 0.0);
        assert_eq!(exp_nonpositive(f32::NEG_INFINITY), 0.0);
        assert_eq!(exp_nonpositive(0.0), 1.0);
    }
}
