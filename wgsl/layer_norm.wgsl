{{ enable }}
// LayerNorm over the last dimension in one dispatch: one workgroup per row, two passes (mean,
// then the mean of squared deviations, as burn's composition and PyTorch compute them), then
// (x - mean) / sqrt(var + eps) * gamma + beta.
//
// info: [rows, d, eps bits]

@group(0) @binding(0) var<storage, read_write> x: array<{{ elem }}>;
@group(0) @binding(1) var<storage, read_write> gamma: array<{{ elem }}>;
@group(0) @binding(2) var<storage, read_write> beta: array<{{ elem }}>;
@group(0) @binding(3) var<storage, read_write> output: array<{{ elem }}>;
@group(0) @binding(4) var<storage, read_write> info: array<u32>;

const WG: u32 = {{ workgroup }}u;

var<workgroup> part: array<f32, {{ workgroup }}>;

// The workgroup's sum of `v` (every invocation gets it).
fn total(t: u32, v: f32) -> f32 {
    part[t] = v;
    workgroupBarrier();
    for (var s = WG / 2u; s > 0u; s = s / 2u) {
        if (t < s) {
            part[t] += part[t + s];
        }
        workgroupBarrier();
    }
    let r = part[0];
    workgroupBarrier();
    return r;
}

@compute @workgroup_size({{ workgroup }}, 1, 1)
fn main(
    @builtin(local_invocation_index) t: u32,
    @builtin(workgroup_id) wid: vec3<u32>,
    @builtin(num_workgroups) nwg: vec3<u32>,
) {
    let rows = info[0];
    let d = info[1];
    let eps = bitcast<f32>(info[2]);
    let row = wid.x + wid.y * nwg.x;
    // Out-of-range workgroups join the barriers on row 0 and write nothing.
    let valid = row < rows;
    let base = select(0u, row, valid) * d;
    var s = 0.0;
    for (var i = t; i < d; i += WG) {
        s += f32(x[base + i]);
    }
    let mean = total(t, s) / f32(d);
    var q = 0.0;
    for (var i = t; i < d; i += WG) {
        let v = f32(x[base + i]) - mean;
        q += v * v;
    }
    let den = sqrt(total(t, q) / f32(d) + eps);
    if (valid) {
        for (var i = t; i < d; i += WG) {
            output[base + i] = {{ elem }}((f32(x[base + i]) - mean) / den * f32(gamma[i]) + f32(beta[i]));
        }
    }
}
