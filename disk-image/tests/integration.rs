//! The one integration-test binary of `disk-image`: each module tests one part against real
//! files and real tools.

mod integration {
    mod support;
    mod vhd;
    #[cfg(feature = "xva")]
    mod xva;
}
