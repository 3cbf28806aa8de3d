//! What the top-level README says about the core's tests is what they are.

#[test]
fn readme_counts_the_conformance_cases() {
    let cases = include_str!("conformance.rs")
        .lines()
        .filter(|l| l.trim() == "#[test]")
        .count();
    let readme = include_str!("../../README.md");
    let claim = format!("{cases} RFC conformance cases");
    assert!(
        readme.contains(&claim),
        "README.md should say \"{claim}\" (core/tests/conformance.rs has {cases} tests)"
    );
}
