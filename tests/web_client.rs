//! The console's own unit tests (`web/test/`, Node's test runner): the terminal's wire client
//! alone, without a browser. Runs after the components' build, which installs the npm packages.

use std::process::Command;

use chatcode_testkit::{ensure_components_built, workspace_root};

#[test]
fn the_wire_client_passes_its_node_tests() {
    ensure_components_built();
    let output = Command::new("npm")
        .args(["test", "--silent"])
        .current_dir(workspace_root().join("web"))
        .output()
        .expect("running npm test in web/");
    assert!(
        output.status.success(),
        "npm test failed:\n{}\n{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}
