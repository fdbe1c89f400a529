//! The TFLite → ONNX converter (`motion_capture::models::convert`), which promises an error,
//! never a panic, for any bytes: operand indices, ranks, sizes, strides and sparsity levels of a
//! corrupt model are checked. Seeds: the small test models of `models/test_tflite.rs`.
#![no_main]

use libfuzzer_sys::fuzz_target;
use motion_capture::models::convert::tflite_to_onnx;

fuzz_target!(|data: &[u8]| {
    let Ok(onnx) = tflite_to_onnx(data, "fuzz", &[]) else {
        return;
    };
    let again = tflite_to_onnx(data, "fuzz", &[]).expect("converts the second time too");
    assert!(onnx == again, "conversion is deterministic");
});
