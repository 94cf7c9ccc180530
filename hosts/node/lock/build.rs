//! Sets the linker options a Node-API addon needs on each platform (Node's symbols are
//! resolved when Node loads the addon).
fn main() {
    napi_build::setup();
}
