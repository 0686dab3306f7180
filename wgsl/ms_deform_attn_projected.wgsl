// Multi-scale deformable attention of the un-projected memory, forward (inference).
//
// The attention is linear in the value, so instead of projecting every memory token
// (value = (memory @ W + b) * keep) and sampling the projection, one workgroup per
// (n, q, head) sums the memory rows its samples touch, weighted by corner x attention x keep
// weights (phase 1: each invocation a strided set of the C channels, reads coalesced), then
// projects that one sum into the head's D outputs and adds the bias times the summed weights
// (phase 2). A decoder layer then projects Lq x M rows, not S memory tokens.
// Same sampling as ms_deform_attn_forward.wgsl: bilinear, zero padding, align_corners = false.
//
// info: [N, S, C, M, D, Lq, L, P, then per level: H, W, start]

@group(0) @binding(0) var<storage, read_write> memory: array<f32>;  // (N, S, C)
@group(0) @binding(1) var<storage, read_write> keep: array<f32>;    // (N, S)
@group(0) @binding(2) var<storage, read_write> weight: array<f32>;  // (C, M * D)
@group(0) @binding(3) var<storage, read_write> bias: array<f32>;    // (M * D)
@group(0) @binding(4) var<storage, read_write> loc: array<f32>;     // (N, Lq, M, L, P, 2)
@group(0) @binding(5) var<storage, read_write> attn: array<f32>;    // (N, Lq, M, L, P)
@group(0) @binding(6) var<storage, read_write> output: array<f32>;  // (N, Lq, M * D)
@group(0) @binding(7) var<storage, read_write> info: array<u32>;

const WG: u32 = {{ workgroup }}u;

var<workgroup> sums: array<f32, {{ max_channels }}>;

@compute @workgroup_size({{ workgroup }}, 1, 1)
fn main(
    @builtin(workgroup_id) wid: vec3<u32>,
    @builtin(num_workgroups) nwg: vec3<u32>,
    @builtin(local_invocation_index) t: u32,
) {
    // 2-D dispatch: one workgroup per (n, q, m).
    let g = wid.x + wid.y * nwg.x;
    let N = info[0];
    let S = info[1];
    let C = info[2];
    let M = info[3];
    let D = info[4];
    let Lq = info[5];
    let L = info[6];
    let P = info[7];
    // The same for the whole workgroup, but not provably uniform (it reads a storage buffer):
    // a guard, not an early return, keeps the barrier in uniform control flow.
    let live = g < N * Lq * M;
    let m = g % M;
    let q = (g / M) % Lq;
    let n = g / (M * Lq);

    // Phase 1: channel sums (each invocation its channels c = t, t + WG, ...) and the total
    // weight (the same in every invocation).
    var total = 0.0;
    let base = ((n * Lq + q) * M + m) * L * P;
    for (var c = t; c < C; c += WG) {
        sums[c] = 0.0;
    }
    for (var l = 0u; l < select(0u, L, live); l++) {
        let H = info[8u + 3u * l];
        let W = info[9u + 3u * l];
        let start = info[10u + 3u * l];
        let hf = f32(H);
        let wf = f32(W);
        for (var p = 0u; p < P; p++) {
            let i = base + l * P + p;
            let h_im = loc[2u * i + 1u] * hf - 0.5;
            let w_im = loc[2u * i] * wf - 0.5;
            if (h_im > -1.0 && w_im > -1.0 && h_im < hf && w_im < wf) {
                let h_low = i32(floor(h_im));
                let w_low = i32(floor(w_im));
                let lh = h_im - f32(h_low);
                let lw = w_im - f32(w_low);
                let hh = 1.0 - lh;
                let hw = 1.0 - lw;
                let a = attn[i];
                for (var corner = 0u; corner < 4u; corner++) {
                    let dy = i32(corner / 2u);
                    let dx = i32(corner % 2u);
                    let y = h_low + dy;
                    let x = w_low + dx;
                    if (y >= 0 && x >= 0 && y < i32(H) && x < i32(W)) {
                        let pix = n * S + start + u32(y) * W + u32(x);
                        var cw = hh * hw;
                        if (corner == 1u) { cw = hh * lw; }
                        if (corner == 2u) { cw = lh * hw; }
                        if (corner == 3u) { cw = lh * lw; }
                        let k = a * cw * keep[pix];
                        total += k;
                        for (var c = t; c < C; c += WG) {
                            sums[c] += k * memory[pix * C + c];
                        }
                    }
                }
            }
        }
    }
    workgroupBarrier();

    // Phase 2: the head's D outputs, sums @ W[:, m*D .. (m+1)*D] + total * bias.
    let width = M * D;
    for (var d = t; d < select(0u, D, live); d += WG) {
        let col = m * D + d;
        var acc = total * bias[col];
        for (var c = 0u; c < C; c++) {
            acc += sums[c] * weight[c * width + col];
        }
        output[(n * Lq + q) * width + col] = acc;
    }
}
