{{ enable }}
// Multi-scale deformable attention, forward.
//
// One invocation per output element (n, q, m, d): consecutive invocations read consecutive
// channels of a head, so every bilinear corner read is coalesced. Semantics are the
// reference's: bilinear, zero padding, align_corners = false (pixel = loc * size - 0.5).
//
// info: [N, S, M, D, Lq, L, P, then per level: H, W, start]

@group(0) @binding(0) var<storage, read_write> value: array<{{ elem }}>;   // (N, S, M, D)
@group(0) @binding(1) var<storage, read_write> loc: array<{{ elem }}>;     // (N, Lq, M, L, P, 2)
@group(0) @binding(2) var<storage, read_write> attn: array<{{ elem }}>;    // (N, Lq, M, L, P)
@group(0) @binding(3) var<storage, read_write> output: array<{{ elem }}>;  // (N, Lq, M * D)
@group(0) @binding(4) var<storage, read_write> info: array<u32>;

const WG: u32 = {{ workgroup }}u;

@compute @workgroup_size({{ workgroup }}, 1, 1)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    // 2-D dispatch: more than 65535 workgroups are needed for large inputs.
    let idx = gid.x + gid.y * nwg.x * WG;
    let N = info[0];
    let S = info[1];
    let M = info[2];
    let D = info[3];
    let Lq = info[4];
    let L = info[5];
    let P = info[6];
    if (idx >= N * Lq * M * D) {
        return;
    }
    let d = idx % D;
    let m = (idx / D) % M;
    let q = (idx / (D * M)) % Lq;
    let n = idx / (D * M * Lq);

    var acc = 0.0;
    let base = ((n * Lq + q) * M + m) * L * P;
    for (var l = 0u; l < L; l++) {
        let H = info[7u + 3u * l];
        let W = info[8u + 3u * l];
        let start = info[9u + 3u * l];
        let hf = f32(H);
        let wf = f32(W);
        for (var p = 0u; p < P; p++) {
            let i = base + l * P + p;
            let h_im = f32(loc[2u * i + 1u]) * hf - 0.5;
            let w_im = f32(loc[2u * i]) * wf - 0.5;
            if (h_im > -1.0 && w_im > -1.0 && h_im < hf && w_im < wf) {
                let h_low = i32(floor(h_im));
                let w_low = i32(floor(w_im));
                let lh = h_im - f32(h_low);
                let lw = w_im - f32(w_low);
                let hh = 1.0 - lh;
                let hw = 1.0 - lw;
                // value[n, start + y * W + x, m, d]
                let row = (n * S + start) * M + m;
                var v1 = 0.0;
                var v2 = 0.0;
                var v3 = 0.0;
                var v4 = 0.0;
                if (h_low >= 0 && w_low >= 0) {
                    v1 = f32(value[(row + (u32(h_low) * W + u32(w_low)) * M) * D + d]);
                }
                if (h_low >= 0 && w_low + 1 < i32(W)) {
                    v2 = f32(value[(row + (u32(h_low) * W + u32(w_low + 1)) * M) * D + d]);
                }
                if (h_low + 1 < i32(H) && w_low >= 0) {
                    v3 = f32(value[(row + (u32(h_low + 1) * W + u32(w_low)) * M) * D + d]);
                }
                if (h_low + 1 < i32(H) && w_low + 1 < i32(W)) {
                    v4 = f32(value[(row + (u32(h_low + 1) * W + u32(w_low + 1)) * M) * D + d]);
                }
                acc += f32(attn[i]) * (hh * hw * v1 + hh * lw * v2 + lh * hw * v3 + lh * lw * v4);
            }
        }
    }
    output[idx] = {{ elem }}(acc);
}
