//! Trust boundaries: the paths around the ordinary ones, each attacked as an insider would
//! (an officer or helper of 河口乡 aiming at 青山镇, an applicant aiming at staff data, a
//! staff member forging a decision), and each refused.

mod bytes;
mod console_probe;
mod console_sessions;
mod data;
mod decisions;
mod grants;
mod install_wide;
mod oracles;
mod signin;
