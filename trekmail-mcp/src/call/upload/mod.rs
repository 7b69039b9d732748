//! `drive_file_upload`: a local file into Drive, and nothing else leaves the machine.
//! [`confine`] decides which files may be read, [`storage`] where their bytes may go and how
//! they are streamed from disk.

pub mod confine;
pub mod flow;
pub mod plan;
pub mod storage;
