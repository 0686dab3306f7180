//! The official ViDT checkpoint format (naver-ai/vidt), in one place: the state_dict as a
//! table ([`keys`]), the configuration inferred from a checkpoint ([`infer`]), the model built
//! from one ([`load`]) and written back as one ([`save`]), the official initialization
//! ([`init`]), an ImageNet Swin loaded into the backbone ([`pretrained`]) and the class names
//! of the official heads ([`classes`]), and every released checkpoint by name ([`zoo`]).

pub mod classes;
pub mod describe;
pub mod infer;
pub mod init;
pub mod keys;
pub mod load;
pub mod pretrained;
pub mod save;
pub mod zoo;

pub use classes::{COCO_NAMES, coco_names, default_class_names};
pub use describe::{CheckpointInfo, describe};
pub use infer::infer_config;
pub use init::{initial_weights, with_new_classes};
pub use keys::{Entry, Init, Kind, Layout, parameter_count, table, used_parameter_count};
pub use load::load;
pub use pretrained::{PretrainedReport, imagenet_url, load_pretrained_swin};
pub use save::save;
pub use zoo::{OfficialModel, official_model, official_models};
