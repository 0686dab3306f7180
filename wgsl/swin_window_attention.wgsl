{{ enable }}
// Swin (shifted) window attention over a whole map, the layout glue folded in: per window and
// head, softmax(q * scale @ k^T + relative position bias [+ shift mask]) @ v, reading the
// tokens straight from the qkv projection (without its bias, added here) of the un-padded,
// un-shifted map and writing the
// result to the same pixels, so the pad, the cyclic roll, the window partition and reverse,
// the crop and the head split/merge are index arithmetic instead of copies:
//   window token (ty, tx) of window (wy, wx) is pixel
//   ((wy*WS + ty + shift) % Hp, (wx*WS + tx + shift) % Wp) of the padded map;
//   a padded pixel's qkv is the projection's bias (zeros through the Linear).
// The bias comes from the ((2WS-1)^2, heads) table by the relative index; the shift mask
// (-100 across the regions the roll brings together) from the regions of both tokens.
//
// One workgroup per (image, window, head); invocation i computes query row i. K and V of the
// window and head are staged in workgroup memory (2 * N * HD floats: 12.5 KiB for 7x7 windows
// and head dim 32, inside WebGPU's 16 KiB default).
//
// info: [B, H, W, C, heads, Hp, Wp, shift, scale bits, in_rows, out_rows, out_off]: rows of an
// image in qkv and in the output, and the first output row written (H*W, H*W and 0 alone; RAM
// reads the map's rows of the [PATCH ; DET] sequence's projection and writes them into its
// joined output, so no slice or cat copies them)

@group(0) @binding(0) var<storage, read_write> qkv: array<{{ elem }}>;      // (B, in_rows, 3C)
@group(0) @binding(1) var<storage, read_write> qkv_bias: array<{{ elem }}>; // (3C)
@group(0) @binding(2) var<storage, read_write> table: array<{{ elem }}>;    // ((2WS-1)^2, heads)
@group(0) @binding(3) var<storage, read_write> output: array<{{ elem }}>;   // (B, out_rows, C)
@group(0) @binding(4) var<storage, read_write> info: array<u32>;

const WS: u32 = {{ window }}u;
const N: u32 = {{ tokens }}u;
const HD: u32 = {{ head_dim }}u;
const WG: u32 = {{ workgroup }}u;

var<workgroup> k_tile: array<f32, {{ tile }}>;
var<workgroup> v_tile: array<f32, {{ tile }}>;

// Row (or column) i of a padded side n in the shifted frame: 0 before n - WS, 1 before
// n - shift, 2 after (the reference's shift mask).
fn region(i: u32, n: u32, shift: u32) -> u32 {
    if (i < n - WS) {
        return 0u;
    }
    if (i < n - shift) {
        return 1u;
    }
    return 2u;
}

@compute @workgroup_size({{ workgroup }}, 1, 1)
fn main(
    @builtin(local_invocation_index) t: u32,
    @builtin(workgroup_id) wid: vec3<u32>,
    @builtin(num_workgroups) nwg: vec3<u32>,
) {
    let B = info[0];
    let H = info[1];
    let W = info[2];
    let C = info[3];
    let heads = info[4];
    let Hp = info[5];
    let Wp = info[6];
    let shift = info[7];
    let scale = bitcast<f32>(info[8]);
    let nh = Hp / WS;
    let nw = Wp / WS;
    let g = wid.x + wid.y * nwg.x;
    let valid = g < B * nh * nw * heads;
    let h = g % heads;
    let win = g / heads;
    let b = win / (nh * nw);
    let wi = win % (nh * nw);
    let wy = wi / nw;
    let wx = wi % nw;
    let row = 3u * C;

    if (valid) {
        for (var e = t; e < N * HD; e += WG) {
            let j = e / HD;
            let c = e % HD;
            let py = (wy * WS + j / WS + shift) % Hp;
            let px = (wx * WS + j % WS + shift) % Wp;
            if (py < H && px < W) {
                let base = (b * info[9] + py * W + px) * row + h * HD + c;
                k_tile[e] = f32(qkv[base + C]) + f32(qkv_bias[C + h * HD + c]);
                v_tile[e] = f32(qkv[base + 2u * C]) + f32(qkv_bias[2u * C + h * HD + c]);
            } else {
                k_tile[e] = f32(qkv_bias[C + h * HD + c]);
                v_tile[e] = f32(qkv_bias[2u * C + h * HD + c]);
            }
        }
    }
    workgroupBarrier();
    if (!valid || t >= N) {
        return;
    }
    let i = t;
    let iy = wy * WS + i / WS;
    let ix = wx * WS + i % WS;
    let py = (iy + shift) % Hp;
    let px = (ix + shift) % Wp;
    if (py >= H || px >= W) {
        return; // a padded token: nothing to write
    }
    let qbase = (b * info[9] + py * W + px) * row + h * HD;
    var q: array<f32, {{ head_dim }}>;
    for (var c = 0u; c < HD; c++) {
        q[c] = (f32(qkv[qbase + c]) + f32(qkv_bias[h * HD + c])) * scale;
    }
    let region_i = region(iy, Hp, shift) * 3u + region(ix, Wp, shift);
    let side = 2u * WS - 1u;
    var s: array<f32, {{ tokens }}>;
    var mx = -3.4e38;
    for (var j = 0u; j < N; j++) {
        var acc = 0.0;
        for (var c = 0u; c < HD; c++) {
            acc += q[c] * k_tile[j * HD + c];
        }
        let rel = (i / WS + WS - 1u - j / WS) * side + (i % WS + WS - 1u - j % WS);
        acc += f32(table[rel * heads + h]);
        if (shift > 0u) {
            let jy = wy * WS + j / WS;
            let jx = wx * WS + j % WS;
            if (region(jy, Hp, shift) * 3u + region(jx, Wp, shift) != region_i) {
                acc += -100.0;
            }
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
    let obase = (b * info[10] + info[11] + py * W + px) * C + h * HD;
    for (var c = 0u; c < HD; c++) {
        var acc = 0.0;
        for (var j = 0u; j < N; j++) {
            acc += s[j] * v_tile[j * HD + c];
        }
        output[obase + c] = {{ elem }}(acc * inv);
    }
}
