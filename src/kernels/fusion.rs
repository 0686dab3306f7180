//! Our kernels inside burn's fusion (the wgpu backend with `burn/fusion`): each hot op is
//! registered in the fusion stream as a custom operation, so the tensor ops around it are
//! still fused into few kernels and ours run in order, on the inner backend, when the stream
//! executes (the pattern of burn-vision's cube backend).

use core::marker::PhantomData;

use burn::backend::ir::{CustomOpIr, HandleContainer, OperationIr, OperationOutput, TensorIr};
use burn::tensor::ops::FloatTensor;
use burn::tensor::{Shape, Tensor, TensorPrimitive};
use burn_fusion::stream::{Operation, OperationStreams};
use burn_fusion::{Fusion, FusionBackend, FusionRuntime};

use crate::ops::{SwinWindows, VidtBackend};

type Handles<B> =
    HandleContainer<<<B as FusionBackend>::FusionRuntime as FusionRuntime>::FusionHandle>;

fn wrap<B: burn::tensor::backend::Backend, const D: usize>(t: FloatTensor<B>) -> Tensor<B, D> {
    Tensor::from_primitive(TensorPrimitive::Float(t))
}

fn unwrap<B: burn::tensor::backend::Backend, const D: usize>(t: Tensor<B, D>) -> FloatTensor<B> {
    t.into_primitive().tensor()
}

#[derive(Debug)]
struct SwinAttentionOp<B> {
    desc: CustomOpIr,
    windows: SwinWindows,
    _b: PhantomData<B>,
}

impl<B: FusionBackend + VidtBackend> Operation<B::FusionRuntime> for SwinAttentionOp<B> {
    fn execute(&self, h: &mut Handles<B>) {
        let ([qkv, bias, table], [out]) = self.desc.as_fixed();
        let y = B::swin_window_attention(
            wrap(h.get_float_tensor::<B>(qkv)),
            wrap(h.get_float_tensor::<B>(bias)),
            wrap(h.get_float_tensor::<B>(table)),
            self.windows,
        );
        h.register_float_tensor::<B>(&out.id, unwrap(y));
    }
}

#[derive(Debug)]
struct RamAttentionOp<B> {
    desc: CustomOpIr,
    map: (usize, usize),
    windows: SwinWindows,
    heads: crate::ops::attention::Heads,
    _b: PhantomData<B>,
}

impl<B: FusionBackend + VidtBackend> Operation<B::FusionRuntime> for RamAttentionOp<B> {
    fn execute(&self, h: &mut Handles<B>) {
        let ([qkv, bias, table, det], [out]) = self.desc.as_fixed();
        let y = B::ram_attention(
            wrap(h.get_float_tensor::<B>(qkv)),
            self.map,
            wrap(h.get_float_tensor::<B>(bias)),
            wrap(h.get_float_tensor::<B>(table)),
            self.windows,
            wrap(h.get_float_tensor::<B>(det)),
            self.heads,
        );
        h.register_float_tensor::<B>(&out.id, unwrap(y));
    }
}

/// LayerNorm (0), softmax (1) or GroupNorm (2) of the inner backend.
#[derive(Debug)]
struct NormOp<B> {
    desc: CustomOpIr,
    kind: u8,
    groups: usize,
    eps: f64,
    _b: PhantomData<B>,
}

impl<B: FusionBackend + VidtBackend> Operation<B::FusionRuntime> for NormOp<B> {
    fn execute(&self, h: &mut Handles<B>) {
        let i = &self.desc.inputs;
        let mut x = |k: usize| h.get_float_tensor::<B>(&i[k]);
        let y = match self.kind {
            0 => unwrap(B::layer_norm_last(
                wrap(x(0)),
                wrap(x(1)),
                wrap(x(2)),
                self.eps,
            )),
            1 => unwrap(B::softmax_last(wrap(x(0)))),
            _ => unwrap(B::group_norm_tokens(
                wrap(x(0)),
                wrap(x(1)),
                wrap(x(2)),
                self.groups,
                self.eps,
            )),
        };
        h.register_float_tensor::<B>(&self.desc.outputs[0].id, y);
    }
}

/// Registers a norm of `inputs[0]`'s shape (`kind` as [`NormOp`]).
fn norm<B: FusionBackend + VidtBackend, const D: usize>(
    inputs: Vec<FloatTensor<Fusion<B>>>,
    kind: u8,
    groups: usize,
    eps: f64,
) -> Tensor<Fusion<B>, D> {
    let client = inputs[0].client.clone();
    let streams = OperationStreams::with_inputs(&inputs);
    let out = TensorIr::uninit(
        client.create_empty_handle(),
        inputs[0].shape.clone(),
        inputs[0].dtype,
    );
    let irs: Vec<TensorIr> = inputs.into_iter().map(|t| t.into_ir()).collect();
    let name = ["vidt_layer_norm", "vidt_softmax", "vidt_group_norm"][kind as usize];
    let desc = CustomOpIr::new(name, &irs, &[out]);
    let op = NormOp::<B> {
        desc: desc.clone(),
        kind,
        groups,
        eps,
        _b: PhantomData,
    };
    wrap(
        client
            .register(streams, OperationIr::Custom(desc), op)
            .output(),
    )
}

/// Attention of the inner backend; `packed`: q, k and v are one tensor (bound once).
#[derive(Debug)]
struct AttentionOp<B> {
    desc: CustomOpIr,
    heads: crate::ops::attention::Heads,
    packed: bool,
    _b: PhantomData<B>,
}

impl<B: FusionBackend + VidtBackend> Operation<B::FusionRuntime> for AttentionOp<B> {
    fn execute(&self, h: &mut Handles<B>) {
        let i = &self.desc.inputs;
        let y = if self.packed {
            B::attention_heads_packed(wrap(h.get_float_tensor::<B>(&i[0])), self.heads)
        } else {
            let (q, k, v) = (
                h.get_float_tensor::<B>(&i[0]),
                h.get_float_tensor::<B>(&i[1]),
                h.get_float_tensor::<B>(&i[2]),
            );
            B::attention_heads(wrap(q), wrap(k), wrap(v), self.heads)
        };
        h.register_float_tensor::<B>(&self.desc.outputs[0].id, unwrap(y));
    }
}

#[derive(Debug)]
struct MsdaForwardOp<B> {
    desc: CustomOpIr,
    shapes: Vec<(usize, usize)>,
    _b: PhantomData<B>,
}

impl<B: FusionBackend + VidtBackend> Operation<B::FusionRuntime> for MsdaForwardOp<B> {
    fn execute(&self, h: &mut Handles<B>) {
        let ([v, l, w], [o]) = self.desc.as_fixed();
        let y = B::ms_deform_attn(
            wrap(h.get_float_tensor::<B>(v)),
            &self.shapes,
            wrap(h.get_float_tensor::<B>(l)),
            wrap(h.get_float_tensor::<B>(w)),
        );
        h.register_float_tensor::<B>(&o.id, unwrap(y));
    }
}

#[derive(Debug)]
struct MsdaBackwardOp<B> {
    desc: CustomOpIr,
    shapes: Vec<(usize, usize)>,
    _b: PhantomData<B>,
}

impl<B: FusionBackend + VidtBackend> Operation<B::FusionRuntime> for MsdaBackwardOp<B> {
    fn execute(&self, h: &mut Handles<B>) {
        let ([v, l, w, g], [gv, gl, gw]) = self.desc.as_fixed();
        let (a, b, c) = B::ms_deform_attn_backward(
            wrap(h.get_float_tensor::<B>(v)),
            &self.shapes,
            wrap(h.get_float_tensor::<B>(l)),
            wrap(h.get_float_tensor::<B>(w)),
            wrap(h.get_float_tensor::<B>(g)),
        );
        h.register_float_tensor::<B>(&gv.id, unwrap(a));
        h.register_float_tensor::<B>(&gl.id, unwrap(b));
        h.register_float_tensor::<B>(&gw.id, unwrap(c));
    }
}

impl<B: FusionBackend + VidtBackend> VidtBackend for Fusion<B> {
    fn runs_f16(device: &Self::Device) -> bool {
        B::runs_f16(device)
    }

    fn attention_heads(
        q: Tensor<Self, 3>,
        k: Tensor<Self, 3>,
        v: Tensor<Self, 3>,
        heads: crate::ops::attention::Heads,
    ) -> Tensor<Self, 3> {
        let (q, k, v) = (unwrap(q), unwrap(k), unwrap(v));
        let packed = q.id == k.id && k.id == v.id;
        let mut shape = q.shape.clone();
        shape[2] = heads.width;
        let client = q.client.clone();
        let streams = OperationStreams::with_inputs([&q, &k, &v]);
        let out = TensorIr::uninit(client.create_empty_handle(), shape, q.dtype);
        let inputs: Vec<TensorIr> = if packed {
            drop((k, v));
            vec![q.into_ir()]
        } else {
            vec![q.into_ir(), k.into_ir(), v.into_ir()]
        };
        let desc = CustomOpIr::new("vidt_attention_heads", &inputs, &[out]);
        let op = AttentionOp::<B> {
            desc: desc.clone(),
            heads,
            packed,
            _b: PhantomData,
        };
        wrap(
            client
                .register(streams, OperationIr::Custom(desc), op)
                .output(),
        )
    }

    fn layer_norm_last(
        x: Tensor<Self, 3>,
        gamma: Tensor<Self, 1>,
        beta: Tensor<Self, 1>,
        eps: f64,
    ) -> Tensor<Self, 3> {
        norm(vec![unwrap(x), unwrap(gamma), unwrap(beta)], 0, 0, eps)
    }

    fn softmax_last(x: Tensor<Self, 4>) -> Tensor<Self, 4> {
        norm(vec![unwrap(x)], 1, 0, 0.0)
    }

    fn group_norm_tokens(
        x: Tensor<Self, 3>,
        weight: Tensor<Self, 1>,
        bias: Tensor<Self, 1>,
        groups: usize,
        eps: f64,
    ) -> Tensor<Self, 3> {
        norm(
            vec![unwrap(x), unwrap(weight), unwrap(bias)],
            2,
            groups,
            eps,
        )
    }

    fn swin_window_attention(
        qkv: Tensor<Self, 4>,
        qkv_bias: Tensor<Self, 1>,
        table: Tensor<Self, 2>,
        windows: SwinWindows,
    ) -> Tensor<Self, 4> {
        let (qkv, bias, table) = (unwrap(qkv), unwrap(qkv_bias), unwrap(table));
        let mut shape = qkv.shape.clone();
        shape[3] /= 3;
        let client = qkv.client.clone();
        let streams = OperationStreams::with_inputs([&qkv, &bias, &table]);
        let out = TensorIr::uninit(client.create_empty_handle(), shape, qkv.dtype);
        let inputs = [qkv.into_ir(), bias.into_ir(), table.into_ir()];
        let desc = CustomOpIr::new("vidt_swin_window_attention", &inputs, &[out]);
        let op = SwinAttentionOp::<B> {
            desc: desc.clone(),
            windows,
            _b: PhantomData,
        };
        wrap(
            client
                .register(streams, OperationIr::Custom(desc), op)
                .output(),
        )
    }

    fn ram_attention(
        qkv: Tensor<Self, 3>,
        map: (usize, usize),
        qkv_bias: Tensor<Self, 1>,
        table: Tensor<Self, 2>,
        windows: SwinWindows,
        det_qkv: Tensor<Self, 3>,
        heads: crate::ops::attention::Heads,
    ) -> Tensor<Self, 3> {
        let (qkv, bias, table) = (unwrap(qkv), unwrap(qkv_bias), unwrap(table));
        let det = unwrap(det_qkv);
        let (b, c3) = (qkv.shape[0], qkv.shape[2]);
        let shape = Shape::new([b, map.0 * map.1 + det.shape[1], c3 / 3]);
        let client = qkv.client.clone();
        let streams = OperationStreams::with_inputs([&qkv, &bias, &table, &det]);
        let out = TensorIr::uninit(client.create_empty_handle(), shape, qkv.dtype);
        let inputs = [
            qkv.into_ir(),
            bias.into_ir(),
            table.into_ir(),
            det.into_ir(),
        ];
        let desc = CustomOpIr::new("vidt_ram_attention", &inputs, &[out]);
        let op = RamAttentionOp::<B> {
            desc: desc.clone(),
            map,
            windows,
            heads,
            _b: PhantomData,
        };
        wrap(
            client
                .register(streams, OperationIr::Custom(desc), op)
                .output(),
        )
    }

    fn ms_deform_attn(
        value: Tensor<Self, 4>,
        shapes: &[(usize, usize)],
        locations: Tensor<Self, 6>,
        weights: Tensor<Self, 5>,
    ) -> Tensor<Self, 3> {
        let (v, l, w) = (unwrap(value), unwrap(locations), unwrap(weights));
        let shape = Shape::new([v.shape[0], l.shape[1], v.shape[2] * v.shape[3]]);
        let client = v.client.clone();
        let streams = OperationStreams::with_inputs([&v, &l, &w]);
        let out = TensorIr::uninit(client.create_empty_handle(), shape, v.dtype);
        let inputs = [v.into_ir(), l.into_ir(), w.into_ir()];
        let desc = CustomOpIr::new("vidt_ms_deform_attn", &inputs, &[out]);
        let op = MsdaForwardOp::<B> {
            desc: desc.clone(),
            shapes: shapes.to_vec(),
            _b: PhantomData,
        };
        wrap(
            client
                .register(streams, OperationIr::Custom(desc), op)
                .output(),
        )
    }

    fn has_ms_deform_attn_backward() -> bool {
        B::has_ms_deform_attn_backward()
    }

    fn ms_deform_attn_backward(
        value: Tensor<Self, 4>,
        shapes: &[(usize, usize)],
        locations: Tensor<Self, 6>,
        weights: Tensor<Self, 5>,
        grad_output: Tensor<Self, 3>,
    ) -> (Tensor<Self, 4>, Tensor<Self, 6>, Tensor<Self, 5>) {
        let (v, l, w) = (unwrap(value), unwrap(locations), unwrap(weights));
        let g = unwrap(grad_output);
        let client = v.client.clone();
        let dt = v.dtype;
        let streams = OperationStreams::with_inputs([&v, &l, &w, &g]);
        let outs = [
            TensorIr::uninit(client.create_empty_handle(), v.shape.clone(), dt),
            TensorIr::uninit(client.create_empty_handle(), l.shape.clone(), dt),
            TensorIr::uninit(client.create_empty_handle(), w.shape.clone(), dt),
        ];
        let inputs = [v.into_ir(), l.into_ir(), w.into_ir(), g.into_ir()];
        let desc = CustomOpIr::new("vidt_ms_deform_attn_backward", &inputs, &outs);
        let op = MsdaBackwardOp::<B> {
            desc: desc.clone(),
            shapes: shapes.to_vec(),
            _b: PhantomData,
        };
        let [gv, gl, gw] = client
            .register(streams, OperationIr::Custom(desc), op)
            .outputs::<3>();
        (wrap(gv), wrap(gl), wrap(gw))
    }
}
