//! MD5's block function: one stream (scalar), or eight streams at once in
//! the eight 32-bit lanes of AVX2 registers (the same 64 steps, each lane
//! with its own state and message words).
//!
//! One stream's steps form a serial chain, so eight lanes take as long as
//! one: the speed of a pass is the latency of a step through `b`. With
//! AVX-512VL the round function is one `vpternlogd` and the rotation one
//! `vprold` (AVX2 needs two dependent instructions for each), and the
//! additions off the chain come first.

/// Per-step additive constants: floor(|sin(i + 1)| * 2^32).
const K: [u32; 64] = [
    0xd76aa478, 0xe8c7b756, 0x242070db, 0xc1bdceee, 0xf57c0faf, 0x4787c62a, 0xa8304613, 0xfd469501, 0x698098d8,
    0x8b44f7af, 0xffff5bb1, 0x895cd7be, 0x6b901122, 0xfd987193, 0xa679438e, 0x49b40821, 0xf61e2562, 0xc040b340,
    0x265e5a51, 0xe9b6c7aa, 0xd62f105d, 0x02441453, 0xd8a1e681, 0xe7d3fbc8, 0x21e1cde6, 0xc33707d6, 0xf4d50d87,
    0x455a14ed, 0xa9e3e905, 0xfcefa3f8, 0x676f02d9, 0x8d2a4c8a, 0xfffa3942, 0x8771f681, 0x6d9d6122, 0xfde5380c,
    0xa4beea44, 0x4bdecfa9, 0xf6bb4b60, 0xbebfbc70, 0x289b7ec6, 0xeaa127fa, 0xd4ef3085, 0x04881d05, 0xd9d4d039,
    0xe6db99e5, 0x1fa27cf8, 0xc4ac5665, 0xf4292244, 0x432aff97, 0xab9423a7, 0xfc93a039, 0x655b59c3, 0x8f0ccc92,
    0xffeff47d, 0x85845dd1, 0x6fa87e4f, 0xfe2ce6e0, 0xa3014314, 0x4e0811a1, 0xf7537e82, 0xbd3af235, 0x2ad7d2bb,
    0xeb86d391,
];

const SHIFTS: [u32; 64] = [
    7, 12, 17, 22, 7, 12, 17, 22, 7, 12, 17, 22, 7, 12, 17, 22, 5, 9, 14, 20, 5, 9, 14, 20, 5, 9, 14, 20, 5, 9, 14, 20,
    4, 11, 16, 23, 4, 11, 16, 23, 4, 11, 16, 23, 4, 11, 16, 23, 6, 10, 15, 21, 6, 10, 15, 21, 6, 10, 15, 21, 6, 10, 15,
    21,
];

pub const INIT: [u32; 4] = [0x67452301, 0xefcdab89, 0x98badcfe, 0x10325476];

/// Which message word step `i` reads.
const fn word(i: usize) -> usize {
    match i / 16 {
        0 => i,
        1 => (5 * i + 1) % 16,
        2 => (3 * i + 5) % 16,
        _ => (7 * i) % 16,
    }
}

/// Runs the block function over `blocks` (a multiple of 64 bytes).
pub fn scalar(state: &mut [u32; 4], blocks: &[u8]) {
    for block in blocks.chunks_exact(64) {
        let mut m = [0u32; 16];
        for (w, bytes) in m.iter_mut().zip(block.chunks_exact(4)) {
            *w = u32::from_le_bytes([bytes[0], bytes[1], bytes[2], bytes[3]]);
        }
        let [mut a, mut b, mut c, mut d] = *state;
        for i in 0..64 {
            let f = match i / 16 {
                0 => (b & c) | (!b & d),
                1 => (d & b) | (!d & c),
                2 => b ^ c ^ d,
                _ => c ^ (b | !d),
            };
            let t = f.wrapping_add(a).wrapping_add(K[i]).wrapping_add(m[word(i)]);
            a = d;
            d = c;
            c = b;
            b = b.wrapping_add(t.rotate_left(SHIFTS[i]));
        }
        state[0] = state[0].wrapping_add(a);
        state[1] = state[1].wrapping_add(b);
        state[2] = state[2].wrapping_add(c);
        state[3] = state[3].wrapping_add(d);
    }
}

/// Eight lanes: `states[l]` absorbs `blocks` 64-byte blocks of `inputs[l]`.
/// Every input must hold at least `blocks * 64` bytes.
pub fn lanes8(states: &mut [[u32; 4]; 8], inputs: [&[u8]; 8], blocks: usize) {
    #[cfg(target_arch = "x86_64")]
    if inputs.iter().all(|i| i.len() >= blocks * 64) {
        if has_avx512() {
            // SAFETY: AVX-512F and VL are present (checked above) and every
            // input holds `blocks` whole blocks, the only bytes read.
            unsafe { avx512::lanes8(states, inputs, blocks) };
            return;
        }
        if std::arch::is_x86_feature_detected!("avx2") {
            // SAFETY: as above, with AVX2.
            unsafe { avx2::lanes8(states, inputs, blocks) };
            return;
        }
    }
    for (state, input) in states.iter_mut().zip(inputs) {
        scalar(state, input.get(..blocks * 64).unwrap_or(input));
    }
}

#[cfg(target_arch = "x86_64")]
fn has_avx512() -> bool {
    std::arch::is_x86_feature_detected!("avx512f") && std::arch::is_x86_feature_detected!("avx512vl")
}

/// Whether eight lanes run in one pass on this CPU (else they run one by one).
pub fn has_lanes() -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        std::arch::is_x86_feature_detected!("avx2")
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        false
    }
}

#[cfg(target_arch = "x86_64")]
mod avx2 {
    use std::arch::x86_64::*;

    use super::{word, K};

    macro_rules! rotl {
        ($x:expr, $s:literal) => {
            _mm256_or_si256(_mm256_slli_epi32::<$s>($x), _mm256_srli_epi32::<{ 32 - $s }>($x))
        };
    }

    /// Four steps of a round: `a = b + rotl(a + k + m + fun(b, c, d), s)`,
    /// the names rotating after each. `a + k + m` does not wait for the
    /// previous step, so only `fun`, one addition, `rotl` and the last
    /// addition are on the chain.
    macro_rules! quad {
        ($rotl:ident, $pin:ident, $fun:ident, $a:ident, $b:ident, $c:ident, $d:ident, $m:ident, $at:expr, $s0:literal, $s1:literal, $s2:literal, $s3:literal) => {
            quad!(@step $rotl, $pin, $fun, $a, $b, $c, $d, $m, $at, $s0);
            quad!(@step $rotl, $pin, $fun, $d, $a, $b, $c, $m, $at + 1, $s1);
            quad!(@step $rotl, $pin, $fun, $c, $d, $a, $b, $m, $at + 2, $s2);
            quad!(@step $rotl, $pin, $fun, $b, $c, $d, $a, $m, $at + 3, $s3);
        };
        (@step $rotl:ident, $pin:ident, $fun:ident, $a:ident, $b:ident, $c:ident, $d:ident, $m:ident, $at:expr, $s:literal) => {
            let k = _mm256_set1_epi32(K[$at] as i32);
            let early = $pin(_mm256_add_epi32($a, _mm256_add_epi32(k, $m[word($at)])));
            let t = _mm256_add_epi32(early, $fun($b, $c, $d));
            $a = _mm256_add_epi32($b, $rotl!(t, $s));
        };
    }

    /// `x`, which the compiler may no longer take apart: LLVM otherwise
    /// reorders the step's four additions and puts them all on the chain.
    /// Only the AVX-512 path gains (4,534 -> 5,525 MiB/s for eight lanes);
    /// with AVX2's sixteen registers it costs moves (4,505 -> 4,370).
    #[target_feature(enable = "avx2")]
    #[inline]
    pub(super) fn opaque(mut x: __m256i) -> __m256i {
        // SAFETY: an empty template; it only names the register.
        unsafe { std::arch::asm!("/* {0} */", inout(ymm_reg) x, options(pure, nomem, nostack, preserves_flags)) };
        x
    }

    /// `x` as it is, for the AVX2 path.
    #[inline(always)]
    fn same(x: __m256i) -> __m256i {
        x
    }

    /// The 64 steps of one block for every lane, then the state update;
    /// `f`..`i` are the round functions, `rotl` the rotation, `pin` what
    /// is applied to the additions off the chain.
    macro_rules! lanes8_body {
        ($rotl:ident, $pin:ident, $f:ident, $g:ident, $h:ident, $i:ident, $states:ident, $inputs:ident, $blocks:ident) => {{
            let (mut sa, mut sb, mut sc, mut sd) =
                (column($states, 0), column($states, 1), column($states, 2), column($states, 3));
            for block in 0..$blocks {
                // SAFETY: each input holds `blocks * 64` bytes.
                let (lo, hi) = unsafe { (words(&$inputs, block * 64), words(&$inputs, block * 64 + 32)) };
                let m: [__m256i; 16] = [
                    lo[0], lo[1], lo[2], lo[3], lo[4], lo[5], lo[6], lo[7], hi[0], hi[1], hi[2], hi[3], hi[4], hi[5],
                    hi[6], hi[7],
                ];
                let (mut a, mut b, mut c, mut d) = (sa, sb, sc, sd);
                quad!($rotl, $pin, $f, a, b, c, d, m, 0, 7, 12, 17, 22);
                quad!($rotl, $pin, $f, a, b, c, d, m, 4, 7, 12, 17, 22);
                quad!($rotl, $pin, $f, a, b, c, d, m, 8, 7, 12, 17, 22);
                quad!($rotl, $pin, $f, a, b, c, d, m, 12, 7, 12, 17, 22);
                quad!($rotl, $pin, $g, a, b, c, d, m, 16, 5, 9, 14, 20);
                quad!($rotl, $pin, $g, a, b, c, d, m, 20, 5, 9, 14, 20);
                quad!($rotl, $pin, $g, a, b, c, d, m, 24, 5, 9, 14, 20);
                quad!($rotl, $pin, $g, a, b, c, d, m, 28, 5, 9, 14, 20);
                quad!($rotl, $pin, $h, a, b, c, d, m, 32, 4, 11, 16, 23);
                quad!($rotl, $pin, $h, a, b, c, d, m, 36, 4, 11, 16, 23);
                quad!($rotl, $pin, $h, a, b, c, d, m, 40, 4, 11, 16, 23);
                quad!($rotl, $pin, $h, a, b, c, d, m, 44, 4, 11, 16, 23);
                quad!($rotl, $pin, $i, a, b, c, d, m, 48, 6, 10, 15, 21);
                quad!($rotl, $pin, $i, a, b, c, d, m, 52, 6, 10, 15, 21);
                quad!($rotl, $pin, $i, a, b, c, d, m, 56, 6, 10, 15, 21);
                quad!($rotl, $pin, $i, a, b, c, d, m, 60, 6, 10, 15, 21);
                sa = _mm256_add_epi32(sa, a);
                sb = _mm256_add_epi32(sb, b);
                sc = _mm256_add_epi32(sc, c);
                sd = _mm256_add_epi32(sd, d);
            }
            store($states, [sa, sb, sc, sd]);
        }};
    }
    pub(super) use {lanes8_body, quad};

    #[target_feature(enable = "avx2")]
    #[inline]
    fn fun_f(b: __m256i, c: __m256i, d: __m256i) -> __m256i {
        _mm256_or_si256(_mm256_and_si256(b, c), _mm256_andnot_si256(b, d))
    }

    #[target_feature(enable = "avx2")]
    #[inline]
    fn fun_g(b: __m256i, c: __m256i, d: __m256i) -> __m256i {
        _mm256_or_si256(_mm256_and_si256(d, b), _mm256_andnot_si256(d, c))
    }

    #[target_feature(enable = "avx2")]
    #[inline]
    fn fun_h(b: __m256i, c: __m256i, d: __m256i) -> __m256i {
        _mm256_xor_si256(_mm256_xor_si256(b, c), d)
    }

    #[target_feature(enable = "avx2")]
    #[inline]
    fn fun_i(b: __m256i, c: __m256i, d: __m256i) -> __m256i {
        _mm256_xor_si256(c, _mm256_or_si256(b, _mm256_xor_si256(d, _mm256_set1_epi32(-1))))
    }

    /// Transposes 8 rows of 8 u32 (row = lane) into 8 columns (column = word).
    #[target_feature(enable = "avx2")]
    #[inline]
    fn transpose(r: [__m256i; 8]) -> [__m256i; 8] {
        let t0 = _mm256_unpacklo_epi32(r[0], r[1]);
        let t1 = _mm256_unpackhi_epi32(r[0], r[1]);
        let t2 = _mm256_unpacklo_epi32(r[2], r[3]);
        let t3 = _mm256_unpackhi_epi32(r[2], r[3]);
        let t4 = _mm256_unpacklo_epi32(r[4], r[5]);
        let t5 = _mm256_unpackhi_epi32(r[4], r[5]);
        let t6 = _mm256_unpacklo_epi32(r[6], r[7]);
        let t7 = _mm256_unpackhi_epi32(r[6], r[7]);
        let u0 = _mm256_unpacklo_epi64(t0, t2);
        let u1 = _mm256_unpackhi_epi64(t0, t2);
        let u2 = _mm256_unpacklo_epi64(t1, t3);
        let u3 = _mm256_unpackhi_epi64(t1, t3);
        let u4 = _mm256_unpacklo_epi64(t4, t6);
        let u5 = _mm256_unpackhi_epi64(t4, t6);
        let u6 = _mm256_unpacklo_epi64(t5, t7);
        let u7 = _mm256_unpackhi_epi64(t5, t7);
        [
            _mm256_permute2x128_si256::<0x20>(u0, u4),
            _mm256_permute2x128_si256::<0x20>(u1, u5),
            _mm256_permute2x128_si256::<0x20>(u2, u6),
            _mm256_permute2x128_si256::<0x20>(u3, u7),
            _mm256_permute2x128_si256::<0x31>(u0, u4),
            _mm256_permute2x128_si256::<0x31>(u1, u5),
            _mm256_permute2x128_si256::<0x31>(u2, u6),
            _mm256_permute2x128_si256::<0x31>(u3, u7),
        ]
    }

    /// Words `off/4 .. off/4 + 8` of block `at` of every lane, one register per word.
    ///
    /// # Safety
    /// Every input must hold at least `at + off + 32` bytes.
    #[target_feature(enable = "avx2")]
    #[inline]
    pub(super) unsafe fn words(inputs: &[&[u8]; 8], at: usize) -> [__m256i; 8] {
        let mut rows = [_mm256_setzero_si256(); 8];
        for (row, input) in rows.iter_mut().zip(inputs) {
            // SAFETY: the caller guarantees 32 readable bytes at `at`; the load is unaligned.
            *row = unsafe { _mm256_loadu_si256(input.as_ptr().add(at) as *const __m256i) };
        }
        transpose(rows)
    }

    #[target_feature(enable = "avx2")]
    #[inline]
    pub(super) fn column(states: &[[u32; 4]; 8], n: usize) -> __m256i {
        let s = |l: usize| states[l][n] as i32;
        _mm256_setr_epi32(s(0), s(1), s(2), s(3), s(4), s(5), s(6), s(7))
    }

    /// Writes the four state columns back to the lanes' states.
    #[target_feature(enable = "avx2")]
    #[inline]
    pub(super) fn store(states: &mut [[u32; 4]; 8], columns: [__m256i; 4]) {
        let mut out = [[0u32; 8]; 4];
        for (o, v) in out.iter_mut().zip(columns) {
            // SAFETY: `o` is 8 u32 = 32 writable bytes; the store is unaligned.
            unsafe { _mm256_storeu_si256(o.as_mut_ptr() as *mut __m256i, v) };
        }
        for (l, state) in states.iter_mut().enumerate() {
            *state = [out[0][l], out[1][l], out[2][l], out[3][l]];
        }
    }

    /// # Safety
    /// The CPU must have AVX2 and every input at least `blocks * 64` bytes.
    #[target_feature(enable = "avx2")]
    pub unsafe fn lanes8(states: &mut [[u32; 4]; 8], inputs: [&[u8]; 8], blocks: usize) {
        lanes8_body!(rotl, same, fun_f, fun_g, fun_h, fun_i, states, inputs, blocks)
    }
}

#[cfg(target_arch = "x86_64")]
mod avx512 {
    use std::arch::x86_64::*;

    use super::avx2::{column, lanes8_body, opaque, quad, store, words};
    use super::{word, K};

    macro_rules! rol {
        ($x:expr, $s:literal) => {
            _mm256_rol_epi32::<$s>($x)
        };
    }

    // Each round function as a `vpternlogd` truth table over (b, c, d):
    // bit `4b + 2c + d` of the immediate is the function's value there.

    /// `(b & c) | (!b & d)`: b selects c or d.
    #[target_feature(enable = "avx512f,avx512vl")]
    #[inline]
    fn fun_f(b: __m256i, c: __m256i, d: __m256i) -> __m256i {
        _mm256_ternarylogic_epi32::<0xca>(b, c, d)
    }

    /// `(d & b) | (!d & c)`: d selects b or c.
    #[target_feature(enable = "avx512f,avx512vl")]
    #[inline]
    fn fun_g(b: __m256i, c: __m256i, d: __m256i) -> __m256i {
        _mm256_ternarylogic_epi32::<0xe4>(b, c, d)
    }

    /// `b ^ c ^ d`.
    #[target_feature(enable = "avx512f,avx512vl")]
    #[inline]
    fn fun_h(b: __m256i, c: __m256i, d: __m256i) -> __m256i {
        _mm256_ternarylogic_epi32::<0x96>(b, c, d)
    }

    /// `c ^ (b | !d)`.
    #[target_feature(enable = "avx512f,avx512vl")]
    #[inline]
    fn fun_i(b: __m256i, c: __m256i, d: __m256i) -> __m256i {
        _mm256_ternarylogic_epi32::<0x39>(b, c, d)
    }

    /// # Safety
    /// The CPU must have AVX-512F and VL and every input at least
    /// `blocks * 64` bytes.
    #[target_feature(enable = "avx512f,avx512vl")]
    pub unsafe fn lanes8(states: &mut [[u32; 4]; 8], inputs: [&[u8]; 8], blocks: usize) {
        lanes8_body!(rol, opaque, fun_f, fun_g, fun_h, fun_i, states, inputs, blocks)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use md5::{Digest, Md5};

    /// Finishes a stream of whole blocks plus `tail` (< 64 bytes) the MD5 way.
    fn finish(mut state: [u32; 4], tail: &[u8], len: u64) -> [u8; 16] {
        let mut last = tail.to_vec();
        last.push(0x80);
        while last.len() % 64 != 56 {
            last.push(0);
        }
        last.extend_from_slice(&(len * 8).to_le_bytes());
        scalar(&mut state, &last);
        let mut out = [0u8; 16];
        for (o, w) in out.chunks_exact_mut(4).zip(state) {
            o.copy_from_slice(&w.to_le_bytes());
        }
        out
    }

    fn bytes(len: usize, seed: u8) -> Vec<u8> {
        (0..len).map(|i| (i as u8).wrapping_mul(31).wrapping_add(seed).rotate_left(3)).collect()
    }

    #[test]
    fn scalar_matches_the_md5_crate() {
        for len in [0usize, 1, 55, 56, 63, 64, 65, 1000, 4096, 100_001] {
            let data = bytes(len, 7);
            let whole = len / 64 * 64;
            let mut state = INIT;
            scalar(&mut state, &data[..whole]);
            let ours = finish(state, &data[whole..], len as u64);
            let theirs: [u8; 16] = Md5::digest(&data).into();
            assert_eq!(ours, theirs, "length {len}");
        }
    }

    #[test]
    fn eight_lanes_match_eight_scalar_runs() {
        let inputs: Vec<Vec<u8>> = (0..8).map(|l| bytes(64 * 37, l as u8 * 13)).collect();
        let mut states = [INIT; 8];
        for (l, s) in states.iter_mut().enumerate() {
            s[0] = s[0].wrapping_add(l as u32); // lanes start from different states
        }
        let mut expected = states;
        for (s, input) in expected.iter_mut().zip(&inputs) {
            scalar(s, input);
        }
        let refs: [&[u8]; 8] = std::array::from_fn(|l| inputs[l].as_slice());
        let start = states;
        lanes8(&mut states, refs, 37);
        assert_eq!(states, expected);
        assert!(has_lanes() || cfg!(not(target_arch = "x86_64")), "this CPU runs lanes one by one");
        // Each vector path this CPU has, not only the one `lanes8` picks.
        #[cfg(target_arch = "x86_64")]
        {
            if std::arch::is_x86_feature_detected!("avx2") {
                let mut states = start;
                // SAFETY: AVX2 is present; every input holds 37 blocks.
                unsafe { avx2::lanes8(&mut states, refs, 37) };
                assert_eq!(states, expected, "AVX2");
            }
            if has_avx512() {
                let mut states = start;
                // SAFETY: AVX-512F and VL are present; every input holds 37 blocks.
                unsafe { avx512::lanes8(&mut states, refs, 37) };
                assert_eq!(states, expected, "AVX-512");
            }
        }
    }
}

#[cfg(test)]
mod speed {
    #[test]
    #[ignore]
    fn throughput() {
        let data = vec![7u8; 1 << 20];
        let t = std::time::Instant::now();
        let mut s = super::INIT;
        for _ in 0..64 {
            super::scalar(&mut s, &data);
        }
        let scalar = 64.0 / t.elapsed().as_secs_f64();
        let mut st = [super::INIT; 8];
        let t = std::time::Instant::now();
        for _ in 0..64 {
            super::lanes8(&mut st, [&data[..]; 8], data.len() / 64);
        }
        let lanes = 8.0 * 64.0 / t.elapsed().as_secs_f64();
        #[cfg(target_arch = "x86_64")]
        if std::arch::is_x86_feature_detected!("avx2") {
            let t = std::time::Instant::now();
            for _ in 0..64 {
                // SAFETY: AVX2 is present; every input holds the blocks read.
                unsafe { super::avx2::lanes8(&mut st, [&data[..]; 8], data.len() / 64) };
            }
            eprintln!("8 AVX2 lanes {:.0} MiB/s", 8.0 * 64.0 / t.elapsed().as_secs_f64());
        }
        use md5::Digest;
        let t = std::time::Instant::now();
        let mut h = md5::Md5::new();
        for _ in 0..64 {
            h.update(&data);
        }
        let _ = h.finalize();
        let crate_speed = 64.0 / t.elapsed().as_secs_f64();
        eprintln!(
            "scalar {scalar:.0} MiB/s, md-5 crate {crate_speed:.0} MiB/s, 8 lanes {lanes:.0} MiB/s ({s:?}{st:?})"
        );
    }
}
