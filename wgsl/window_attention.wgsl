// Swin window attention, fused: per window and head,
// softmax(q * scale @ k^T + relative position bias [+ shift mask]) @ v
// in one pass, reading q/k/v straight from the qkv projection of the windows and writing the
// heads interleaved, so neither the head split nor the merge needs a copy.
//
// One workgroup per (window, head); invocation i computes query row i. K and V of the window
// and head are staged in workgroup memory (2 * N * HD floats: 12.5 KiB for 7x7 windows and
// head dim 32, inside WebGPU's 16 KiB default).
//
// info: [B_ (windows in the batch), heads, C, nW (windows per image; 0 = no mask)]
// scale: the attention scale as f32 bits in info[4].

@group(0) @binding(0) var<storage, read_write> qkv: array<f32>;     // (B_, N, 3C)
@group(0) @binding(1) var<storage, read_write> bias: array<f32>;    // (heads, N, N)
@group(0) @binding(2) var<storage, read_write> mask: array<f32>;    // (nW, N, N) or unused
@group(0) @binding(3) var<storage, read_write> output: array<f32>;  // (B_, N, C)
@group(0) @binding(4) var<storage, read_write> info: array<u32>;

const N: u32 = {{ tokens }}u;
const HD: u32 = {{ head_dim }}u;
const WG: u32 = {{ workgroup }}u;

var<workgroup> k_tile: array<f32, {{ tile }}>;
var<workgroup> v_tile: array<f32, {{ tile }}>;

@compute @workgroup_size({{ workgroup }}, 1, 1)
fn main(
    @builtin(local_invocation_index) t: u32,
    @builtin(workgroup_id) wid: vec3<u32>,
    @builtin(num_workgroups) nwg: vec3<u32>,
) {
    let windows = info[0];
    let heads = info[1];
    let C = info[2];
    let nw = info[3];
    let scale = bitcast<f32>(info[4]);
    let g = wid.x + wid.y * nwg.x;
    let valid = g < windows * heads;
    let h = g % heads;
    let b = g / heads;
    let row = 3u * C;

    if (valid) {
        for (var e = t; e < N * HD; e += WG) {
            let j = e / HD;
            let c = e % HD;
            let base = (b * N + j) * row + h * HD + c;
            k_tile[e] = qkv[base + C];
            v_tile[e] = qkv[base + 2u * C];
        }
    }
    workgroupBarrier();
    if (!valid || t >= N) {
        return;
    }
    let i = t;
    var q: array<f32, {{ head_dim }}>;
    let qbase = (b * N + i) * row + h * HD;
    for (var c = 0u; c < HD; c++) {
        q[c] = qkv[qbase + c] * scale;
    }
    var s: array<f32, {{ tokens }}>;
    var mx = -3.4e38;
    let brow = (h * N + i) * N;
    let mrow = ((b % max(nw, 1u)) * N + i) * N;
    for (var j = 0u; j < N; j++) {
        var acc = 0.0;
        for (var c = 0u; c < HD; c++) {
            acc += q[c] * k_tile[j * HD + c];
        }
        acc += bias[brow + j];
        if (nw > 0u) {
            acc += mask[mrow + j];
        }
        s[j] = acc;
        mx = max(mx, acc);
    }
    var sum = 0.0;
    for (var j = 0u; j < N; j++) {
        let e = exp(s[j] - mx);
        s[j] = e;
        sum += e;
    }
    let inv = 1.0 / sum;
    let obase = (b * N + i) * C + h * HD;
    for (var c = 0u; c < HD; c++) {
        var acc = 0.0;
        for (var j = 0u; j < N; j++) {
            acc += s[j] * v_tile[j * HD + c];
        }
        output[obase + c] = acc * inv;
    }
}
