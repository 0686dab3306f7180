// Multi-scale deformable attention, backward: gradients of value, sampling locations and
// attention weights for one output gradient.
//
// One workgroup per (n, q, m), one invocation per channel d (workgroup size = D).
// * grad value: each channel scatters its 4 bilinear corner contributions. WGSL has no float
//   atomics, so the add is a compare-and-swap loop on the f32 bits held in an atomic<u32>;
//   different queries hit the same value rows, which is why an atomic is needed at all.
// * grad location / weight: per sampling point, a sum over the D channels; each channel
//   writes its partial to workgroup memory and, after one barrier, invocations sum a point
//   each (no atomics, deterministic order).
//
// info: [N, S, M, D, Lq, L, P, then per level: H, W, start]

@group(0) @binding(0) var<storage, read_write> value: array<f32>;               // (N, S, M, D)
@group(0) @binding(1) var<storage, read_write> loc: array<f32>;                 // (N, Lq, M, L, P, 2)
@group(0) @binding(2) var<storage, read_write> attn: array<f32>;                // (N, Lq, M, L, P)
@group(0) @binding(3) var<storage, read_write> grad_out: array<f32>;            // (N, Lq, M * D)
@group(0) @binding(4) var<storage, read_write> grad_value: array<atomic<u32>>;  // (N, S, M, D), zeroed
@group(0) @binding(5) var<storage, read_write> grad_loc: array<f32>;            // (N, Lq, M, L, P, 2)
@group(0) @binding(6) var<storage, read_write> grad_attn: array<f32>;           // (N, Lq, M, L, P)
@group(0) @binding(7) var<storage, read_write> info: array<u32>;

const D: u32 = {{ channels }}u;
const LP: u32 = {{ points }}u;  // L * P

// Per point: [grad attn, grad w_im, grad h_im] partials of each channel.
var<workgroup> partial: array<f32, {{ partials }}>;

fn atomic_add_f32(i: u32, v: f32) {
    var old = atomicLoad(&grad_value[i]);
    loop {
        let updated = bitcast<u32>(bitcast<f32>(old) + v);
        let r = atomicCompareExchangeWeak(&grad_value[i], old, updated);
        if (r.exchanged) {
            break;
        }
        old = r.old_value;
    }
}

@compute @workgroup_size({{ channels }}, 1, 1)
fn main(
    @builtin(local_invocation_index) d: u32,
    @builtin(workgroup_id) wid: vec3<u32>,
    @builtin(num_workgroups) nwg: vec3<u32>,
) {
    let N = info[0];
    let S = info[1];
    let M = info[2];
    let Lq = info[4];
    let L = info[5];
    let P = info[6];
    let g_idx = wid.x + wid.y * nwg.x;  // (n, q, m), 2-D dispatch
    let valid = g_idx < N * Lq * M;
    let m = g_idx % M;
    let q = (g_idx / M) % Lq;
    let n = g_idx / (M * Lq);

    if (valid) {
        let g = grad_out[g_idx * D + d];
        let base = g_idx * LP;
        for (var l = 0u; l < L; l++) {
            let H = info[7u + 3u * l];
            let W = info[8u + 3u * l];
            let start = info[9u + 3u * l];
            let hf = f32(H);
            let wf = f32(W);
            for (var p = 0u; p < P; p++) {
                let lp = l * P + p;
                let i = base + lp;
                let a = attn[i];
                let h_im = loc[2u * i + 1u] * hf - 0.5;
                let w_im = loc[2u * i] * wf - 0.5;
                var g_attn = 0.0;
                var g_w = 0.0;
                var g_h = 0.0;
                if (h_im > -1.0 && w_im > -1.0 && h_im < hf && w_im < wf) {
                    let h_low = i32(floor(h_im));
                    let w_low = i32(floor(w_im));
                    let lh = h_im - f32(h_low);
                    let lw = w_im - f32(w_low);
                    let hh = 1.0 - lh;
                    let hw = 1.0 - lw;
                    let row = (n * S + start) * M + m;
                    let ag = a * g;
                    var v1 = 0.0;
                    var v2 = 0.0;
                    var v3 = 0.0;
                    var v4 = 0.0;
                    if (h_low >= 0 && w_low >= 0) {
                        let vi = (row + (u32(h_low) * W + u32(w_low)) * M) * D + d;
                        v1 = value[vi];
                        atomic_add_f32(vi, hh * hw * ag);
                    }
                    if (h_low >= 0 && w_low + 1 < i32(W)) {
                        let vi = (row + (u32(h_low) * W + u32(w_low + 1)) * M) * D + d;
                        v2 = value[vi];
                        atomic_add_f32(vi, hh * lw * ag);
                    }
                    if (h_low + 1 < i32(H) && w_low >= 0) {
                        let vi = (row + (u32(h_low + 1) * W + u32(w_low)) * M) * D + d;
                        v3 = value[vi];
                        atomic_add_f32(vi, lh * hw * ag);
                    }
                    if (h_low + 1 < i32(H) && w_low + 1 < i32(W)) {
                        let vi = (row + (u32(h_low + 1) * W + u32(w_low + 1)) * M) * D + d;
                        v4 = value[vi];
                        atomic_add_f32(vi, lh * lw * ag);
                    }
                    g_attn = g * (hh * hw * v1 + hh * lw * v2 + lh * hw * v3 + lh * lw * v4);
                    g_w = ag * (-hh * v1 + hh * v2 - lh * v3 + lh * v4) * wf;
                    g_h = ag * (-hw * v1 - lw * v2 + hw * v3 + lw * v4) * hf;
                }
                partial[(lp * 3u) * D + d] = g_attn;
                partial[(lp * 3u + 1u) * D + d] = g_w;
                partial[(lp * 3u + 2u) * D + d] = g_h;
            }
        }
    }
    workgroupBarrier();
    if (!valid) {
        return;
    }
    // Invocation k sums entry k (and k + D, ...) of the 3 * L * P partial rows.
    for (var k = d; k < 3u * LP; k += D) {
        var s = 0.0;
        for (var c = 0u; c < D; c++) {
            s += partial[k * D + c];
        }
        let lp = k / 3u;
        let i = g_idx * LP + lp;
        switch (k % 3u) {
            case 0u: { grad_attn[i] = s; }
            case 1u: { grad_loc[2u * i] = s; }
            default: { grad_loc[2u * i + 1u] = s; }
        }
    }
}
