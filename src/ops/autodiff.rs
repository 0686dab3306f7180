//! Autodiff for the hot ops. Deformable attention uses the backend's backward kernel when it
//! has one (a custom graph node); otherwise, and always for window attention, autodiff
//! differentiates the tensor-op reference.

use burn::backend::Autodiff;
use burn::backend::autodiff::checkpoint::base::Checkpointer;
use burn::backend::autodiff::checkpoint::strategy::CheckpointStrategy;
use burn::backend::autodiff::grads::Gradients;
use burn::backend::autodiff::ops::{Backward, Ops, OpsKind};
use burn::tensor::ops::FloatTensor;
use burn::tensor::{Tensor, TensorPrimitive};

use super::{VidtBackend, ms_deform_attn};

fn wrap<B: VidtBackend, const D: usize>(t: FloatTensor<B>) -> Tensor<B, D> {
    Tensor::from_primitive(TensorPrimitive::Float(t))
}

fn unwrap<B: VidtBackend, const D: usize>(t: Tensor<B, D>) -> FloatTensor<B> {
    t.into_primitive().tensor()
}

#[derive(Debug)]
struct MsDeformAttnBackward;

impl<B: VidtBackend> Backward<B, 3> for MsDeformAttnBackward {
    /// value, locations, weights and the level shapes: all the kernel needs.
    type State = (
        FloatTensor<B>,
        FloatTensor<B>,
        FloatTensor<B>,
        Vec<(usize, usize)>,
    );

    fn backward(
        self,
        ops: Ops<Self::State, 3>,
        grads: &mut Gradients,
        _checkpointer: &mut Checkpointer,
    ) {
        let [node_value, node_loc, node_weights] = ops.parents;
        let grad = grads.consume::<B>(&ops.node);
        let (value, loc, weights, shapes) = ops.state;
        let (gv, gl, gw) =
            B::ms_deform_attn_backward(wrap(value), &shapes, wrap(loc), wrap(weights), wrap(grad));
        if let Some(node) = node_value {
            grads.register::<B>(node.id, unwrap(gv));
        }
        if let Some(node) = node_loc {
            grads.register::<B>(node.id, unwrap(gl));
        }
        if let Some(node) = node_weights {
            grads.register::<B>(node.id, unwrap(gw));
        }
    }
}

impl<B: VidtBackend, C: CheckpointStrategy> VidtBackend for Autodiff<B, C> {
    fn runs_f16(device: &Self::Device) -> bool {
        B::runs_f16(device)
    }

    fn ms_deform_attn(
        value: Tensor<Self, 4>,
        shapes: &[(usize, usize)],
        locations: Tensor<Self, 6>,
        weights: Tensor<Self, 5>,
    ) -> Tensor<Self, 3> {
        if !B::has_ms_deform_attn_backward() {
            return ms_deform_attn::reference(value, shapes, locations, weights);
        }
        let value = value.into_primitive().tensor();
        let loc = locations.into_primitive().tensor();
        let weights = weights.into_primitive().tensor();
        let forward = |v: FloatTensor<B>, l: FloatTensor<B>, w: FloatTensor<B>| -> FloatTensor<B> {
            unwrap(B::ms_deform_attn(wrap(v), shapes, wrap(l), wrap(w)))
        };
        let prep = MsDeformAttnBackward
            .prepare::<C>([value.node.clone(), loc.node.clone(), weights.node.clone()])
            .compute_bound()
            .stateful();
        let out = match prep {
            OpsKind::Tracked(prep) => {
                let out = forward(
                    value.primitive.clone(),
                    loc.primitive.clone(),
                    weights.primitive.clone(),
                );
                prep.finish(
                    (
                        value.primitive,
                        loc.primitive,
                        weights.primitive,
                        shapes.to_vec(),
                    ),
                    out,
                )
            }
            OpsKind::UnTracked(prep) => {
                prep.finish(forward(value.primitive, loc.primitive, weights.primitive))
            }
        };
        Tensor::from_primitive(TensorPrimitive::Float(out))
    }
}
