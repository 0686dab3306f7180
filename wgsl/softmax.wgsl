{{ enable }}
// Softmax over the last dimension in one dispatch: one workgroup per row; the row's max, the
// sum of exp(x - max), then exp(x - max) / sum (burn's composition's formula).
//
// info: [rows, d]

@group(0) @binding(0) var<storage, read_write> x: array<{{ elem }}>;
@group(0) @binding(1) var<storage, read_write> output: array<{{ elem }}>;
@group(0) @binding(2) var<storage, read_write> info: array<u32>;

const WG: u32 = {{ workgroup }}u;

var<workgroup> part: array<f32, {{ workgroup }}>;

@compute @workgroup_size({{ workgroup }}, 1, 1)
fn main(
    @builtin(local_invocation_index) t: u32,
    @builtin(workgroup_id) wid: vec3<u32>,
    @builtin(num_workgroups) nwg: vec3<u32>,
) {
    let rows = info[0];
    let d = info[1];
    let row = wid.x + wid.y * nwg.x;
    let valid = row < rows;
    let base = select(0u, row, valid) * d;
    var m = -3.4e38;
    for (var i = t; i < d; i += WG) {
        m = max(m, f32(x[base + i]));
    }
    part[t] = m;
    workgroupBarrier();
    for (var s = WG / 2u; s > 0u; s = s / 2u) {
        if (t < s) {
            part[t] = max(part[t], part[t + s]);
        }
        workgroupBarrier();
    }
    let mx = part[0];
    workgroupBarrier();
    var sum = 0.0;
    for (var i = t; i < d; i += WG) {
        sum += exp(f32(x[base + i]) - mx);
    }
    part[t] = sum;
    workgroupBarrier();
    for (var s = WG / 2u; s > 0u; s = s / 2u) {
        if (t < s) {
            part[t] += part[t + s];
        }
        workgroupBarrier();
    }
    let total = part[0];
    if (valid) {
        for (var i = t; i < d; i += WG) {
            output[base + i] = {{ elem }}(exp(f32(x[base + i]) - mx) / total);
        }
    }
}
