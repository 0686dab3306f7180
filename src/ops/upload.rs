//! Every host-to-device upload the model makes in a forward goes through here and is counted,
//! so `vidt bench model` can report uploads per forward beside kernel launches (each costs a
//! round of browser overhead on WebGPU, whatever its size).

use std::sync::atomic::{AtomicUsize, Ordering};

use burn::tensor::backend::Backend;
use burn::tensor::{Int, Tensor, TensorCreationOptions, TensorData};

static UPLOADS: AtomicUsize = AtomicUsize::new(0);

/// Uploads `data` as a float tensor: `(&device, dtype)`, the dtype of the tensors it meets (an
/// f16 model's constants are f16: burn does not promote mixed float dtypes).
pub fn upload<B: Backend, const D: usize>(
    data: TensorData,
    options: impl Into<TensorCreationOptions<B>>,
) -> Tensor<B, D> {
    noted();
    Tensor::from_data(data, options)
}

/// Uploads `data` as an integer tensor on `device`.
pub fn upload_int<B: Backend, const D: usize>(
    data: TensorData,
    device: &B::Device,
) -> Tensor<B, D, Int> {
    noted();
    Tensor::from_data(data, device)
}

/// Counts an upload made another way (a kernel's parameter buffer).
pub fn noted() {
    UPLOADS.fetch_add(1, Ordering::Relaxed);
}

/// Uploads so far in this process.
pub fn count() -> usize {
    UPLOADS.load(Ordering::Relaxed)
}
