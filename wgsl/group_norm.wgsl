{{ enable }}
// GroupNorm of channel-last tokens (B, N, C) in one dispatch: one workgroup per (image,
// group) gathers the group's N * C/G values by index arithmetic (no transposes), two passes
// for the mean and the biased variance, then the per-channel affine.
//
// info: [B, N, C, groups, eps bits]

@group(0) @binding(0) var<storage, read_write> x: array<{{ elem }}>;
@group(0) @binding(1) var<storage, read_write> weight: array<{{ elem }}>;
@group(0) @binding(2) var<storage, read_write> bias: array<{{ elem }}>;
@group(0) @binding(3) var<storage, read_write> output: array<{{ elem }}>;
@group(0) @binding(4) var<storage, read_write> info: array<u32>;

const WG: u32 = {{ workgroup }}u;

var<workgroup> part: array<f32, {{ workgroup }}>;

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
    let B = info[0];
    let N = info[1];
    let C = info[2];
    let G = info[3];
    let eps = bitcast<f32>(info[4]);
    let g = wid.x + wid.y * nwg.x;
    let valid = g < B * G;
    let gg = select(0u, g, valid);
    let b = gg / G;
    let grp = gg % G;
    let cg = C / G;
    let count = N * cg;
    var s = 0.0;
    for (var e = t; e < count; e += WG) {
        s += f32(x[(b * N + e / cg) * C + grp * cg + e % cg]);
    }
    let mean = total(t, s) / f32(count);
    var q = 0.0;
    for (var e = t; e < count; e += WG) {
        let v = f32(x[(b * N + e / cg) * C + grp * cg + e % cg]) - mean;
        q += v * v;
    }
    let den = sqrt(total(t, q) / f32(count) + eps);
    if (valid) {
        for (var e = t; e < count; e += WG) {
            let c = grp * cg + e % cg;
            let i = (b * N + e / cg) * C + c;
            output[i] = {{ elem }}((f32(x[i]) - mean) / den * f32(weight[c]) + f32(bias[c]));
        }
    }
}
