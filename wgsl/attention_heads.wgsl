{{ enable }}
// Multi-head attention over whole sequences in one dispatch: per head,
// softmax(q * scale @ k^T) @ v, reading q, k and v at their column offsets inside their rows
// (so a packed qkv projection needs no split copies) and writing the heads interleaved (no
// merge copy). The [DET x DET] attention of RAM and the decoder's self-attention.
//
// One workgroup per (image, head, tile of WG queries); invocation i computes query row i with
// an online softmax over chunks of WG keys staged in workgroup memory (rescaled once per
// chunk).
//
// info: [B, Q, width, heads, q_row, q_col, k_row, k_col, v_row, v_col, scale bits, out_rows,
// out_off]: output rows of an image and the first one written (Q and 0 alone; RAM writes the
// [DET] rows of its joined [PATCH ; DET] sequence)

// A packed qkv is bound once (k and v read from q): WebGPU implementations (Dawn) refuse one
// buffer bound to two writable storage bindings of a dispatch.
@group(0) @binding(0) var<storage, read_write> q: array<{{ elem }}>;
{{ kv_bindings }}
@group(0) @binding({{ out_binding }}) var<storage, read_write> output: array<{{ elem }}>;
@group(0) @binding({{ info_binding }}) var<storage, read_write> info: array<u32>;

const KEYS: u32 = {{ keys }}u;
const HD: u32 = {{ head_dim }}u;
const WG: u32 = {{ workgroup }}u;
const CHUNKS: u32 = (KEYS + WG - 1u) / WG;

var<workgroup> k_tile: array<f32, {{ tile }}>;
var<workgroup> v_tile: array<f32, {{ tile }}>;

@compute @workgroup_size({{ workgroup }}, 1, 1)
fn main(
    @builtin(local_invocation_index) t: u32,
    @builtin(workgroup_id) wid: vec3<u32>,
    @builtin(num_workgroups) nwg: vec3<u32>,
) {
    let B = info[0];
    let Q = info[1];
    let width = info[2];
    let heads = info[3];
    let q_row = info[4];
    let q_col = info[5];
    let k_row = info[6];
    let k_col = info[7];
    let v_row = info[8];
    let v_col = info[9];
    let scale = bitcast<f32>(info[10]);
    let tiles = (Q + WG - 1u) / WG;
    let g = wid.x + wid.y * nwg.x;
    let valid = g < B * heads * tiles;
    let gg = select(0u, g, valid);
    let tile = gg % tiles;
    let h = (gg / tiles) % heads;
    let b = gg / (tiles * heads);
    let i = tile * WG + t;
    let live = valid && i < Q;

    var qv: array<f32, {{ head_dim }}>;
    var acc: array<f32, {{ head_dim }}>;
    if (live) {
        let qb = (b * Q + i) * q_row + q_col + h * HD;
        for (var c = 0u; c < HD; c++) {
            qv[c] = f32(q[qb + c]) * scale;
            acc[c] = 0.0;
        }
    }
    var m = -3.4e38;
    var l = 0.0;
    for (var chunk = 0u; chunk < CHUNKS; chunk++) {
        let base = chunk * WG;
        for (var e = t; e < WG * HD; e += WG) {
            let j = base + e / HD;
            let c = e % HD;
            if (valid && j < KEYS) {
                k_tile[e] = f32({{ k }}[(b * KEYS + j) * k_row + k_col + h * HD + c]);
                v_tile[e] = f32({{ v }}[(b * KEYS + j) * v_row + v_col + h * HD + c]);
            }
        }
        workgroupBarrier();
        if (live) {
            // The chunk's scores first, so the running sums are rescaled once per chunk
            // (not once per key): fewer roundings, closer to a two-pass softmax.
            let n = min(WG, KEYS - base);
            var sc: array<f32, {{ workgroup }}>;
            var m2 = m;
            for (var j = 0u; j < n; j++) {
                var s = 0.0;
                for (var c = 0u; c < HD; c++) {
                    s += qv[c] * k_tile[j * HD + c];
                }
                sc[j] = s;
                m2 = max(m2, s);
            }
            let old = exp(m - m2);
            l = l * old;
            for (var c = 0u; c < HD; c++) {
                acc[c] = acc[c] * old;
            }
            for (var j = 0u; j < n; j++) {
                let p = exp(sc[j] - m2);
                l += p;
                for (var c = 0u; c < HD; c++) {
                    acc[c] += p * v_tile[j * HD + c];
                }
            }
            m = m2;
        }
        workgroupBarrier();
    }
    if (live) {
        let ob = (b * info[11] + info[12] + i) * width + h * HD;
        for (var c = 0u; c < HD; c++) {
            output[ob + c] = {{ elem }}(acc[c] / l);
        }
    }
}
