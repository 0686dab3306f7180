use crate::{CubeRuntime, ops::numeric::empty_device_dtype, tensor::CubeTensor};
use burn_backend::{DType, Shape};

/// Pseudo-random generator with uniform distribution
pub fn random_normal<R: CubeRuntime>(
    shape: Shape,
    device: &R::Device,
    mean: f32,
    std: f32,
    dtype: DType,
) -> CubeTensor<R> {
    // vidt's patch: WebGPU never runs this; diverging leaves its kernels out of the module.
    #[cfg(target_arch = "wasm32")]
    panic!("random tensors on the GPU are not built into vidt's wasm module (its model loads its weights; nothing samples)");
    let client = R::client(device);
    let output = empty_device_dtype(client.clone(), device.clone(), shape, dtype);

    cubek::random::random_normal(&client, mean, std, output.clone().binding(), dtype.into())
        .expect("Kernel to never fail");

    output
}
