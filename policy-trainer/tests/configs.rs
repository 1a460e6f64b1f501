//! Every config shipped in `configs/` loads, and every policy a trainer config asks verdict for
//! exists: built in, or defined in one of the verdict configs shipped beside it.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use policy_trainer::config::TrainConfig;
use verdict::config::ServerArgs;

fn shipped() -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("configs");
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "toml"))
        .collect();
    files.sort();
    files
}

fn is_verdict_config(path: &Path) -> bool {
    path.file_name()
        .unwrap()
        .to_string_lossy()
        .starts_with("verdict-")
}

#[test]
fn shipped_configs_load_and_name_policies_verdict_knows() {
    let mut policies: BTreeSet<String> = BTreeSet::from(["r1".to_owned()]);
    let mut trainer_configs = vec![];
    for path in shipped() {
        if is_verdict_config(&path) {
            let config = verdict::Config::load(&ServerArgs {
                config: Some(path.clone()),
                ..ServerArgs::default()
            })
            .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            policies.extend(config.policies.names().map(str::to_owned));
        } else {
            let config =
                TrainConfig::from_file(&path).unwrap_or_else(|e| panic!("{}: {e:#}", path.display()));
            trainer_configs.push((path, config));
        }
    }
    assert!(
        trainer_configs.len() >= 4,
        "the tiny and SmolLM2 configs are all here"
    );
    for (path, config) in &trainer_configs {
        assert!(
            policies.contains(&config.reward.policy),
            "{} asks for policy {:?}, which no shipped verdict config defines (known: {policies:?})",
            path.display(),
            config.reward.policy
        );
    }
}
