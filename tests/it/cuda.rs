#![cfg(all(feature = "cuda", feature = "wgpu", feature = "flex"))]
//! The model on CUDA against the official fixtures, with the GPU bounds of the wgpu tests.
//! Built only by `scripts/build-gpu-check.sh` (CI has no GPU) and run by `scripts/gpu-check.sh`
//! on a machine with one; here a missing GPU fails the test, like a missing fixture.

use crate::kernels::check_model_on;
use vidt::backend::CudaGpu;

fn cuda() -> burn::tensor::Device<CudaGpu> {
    Default::default()
}

#[test]
fn model_on_cuda_matches_fixture() {
    check_model_on::<CudaGpu>("fixture_nano_perturbed.safetensors", "cuda", &cuda());
}

#[test]
fn model_on_cuda_matches_odd_fixture() {
    check_model_on::<CudaGpu>("fixture_nano_perturbed_odd.safetensors", "cuda", &cuda());
}
