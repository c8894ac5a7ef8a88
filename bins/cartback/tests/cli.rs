//! The three command lines are well-formed, and every flag reads an environment variable.
use clap::CommandFactory;

use cartback::options::{ApiCli, Cli, WorkerCli, parse_duration};

fn every_flag_has_an_env_var(command: &clap::Command) {
    for arg in command.get_arguments() {
        let id = arg.get_id().as_str();
        // Hidden flags are refusal traps (a master key on the command line) and
        // deprecated aliases: not part of the documented surface.
        if arg.is_positional() || arg.is_hide_set() || matches!(id, "help" | "version") {
            continue;
        }
        assert!(
            arg.get_env().is_some(),
            "{} --{id} has no environment variable",
            command.get_name()
        );
    }
    for sub in command.get_subcommands() {
        every_flag_has_an_env_var(sub);
    }
}

/// Every flag, hidden ones included, says what it does.
fn every_flag_has_help(command: &clap::Command, path: &str) {
    let path = format!("{path} {}", command.get_name());
    for arg in command.get_arguments() {
        if arg.is_positional() {
            continue;
        }
        let help = arg.get_help().map(ToString::to_string).unwrap_or_default();
        assert!(
            !help.trim().is_empty(),
            "{path} --{} has no help text",
            arg.get_id()
        );
    }
    for sub in command.get_subcommands() {
        every_flag_has_help(sub, &path);
    }
}

/// `-h` and `--help` print the same compact layout, on every binary and
/// subcommand: nothing (an argument's long help, a documented possible value)
/// switches `--help` to clap's long layout.
fn one_help_layout(root: &clap::Command, path: &[&str]) {
    let mut command = root;
    for name in path {
        let Some(sub) = command.find_subcommand(name) else {
            panic!("no subcommand {name}");
        };
        command = sub;
    }
    let long_only: Vec<String> = command
        .get_arguments()
        .filter(|arg| {
            arg.get_long_help().is_some()
                || arg
                    .get_possible_values()
                    .iter()
                    .any(|v| v.get_help().is_some())
        })
        .map(|arg| arg.get_id().to_string())
        .collect();
    assert!(long_only.is_empty(), "{path:?}: long help on {long_only:?}");
    let printed = |flag: &str| {
        let mut argv = vec![root.get_name()];
        argv.extend_from_slice(path);
        argv.push(flag);
        match root.clone().try_get_matches_from(&argv) {
            Err(help) => help.render().to_string(),
            Ok(_) => panic!("{argv:?} printed no help"),
        }
    };
    assert_eq!(printed("-h"), printed("--help"), "{path:?}");
    for sub in command.get_subcommands() {
        let mut deeper = path.to_vec();
        deeper.push(sub.get_name());
        one_help_layout(root, &deeper);
    }
}

#[test]
fn command_lines_are_well_formed() {
    for command in [Cli::command(), ApiCli::command(), WorkerCli::command()] {
        command.clone().debug_assert();
        every_flag_has_an_env_var(&command);
        every_flag_has_help(&command, "");
        one_help_layout(&command, &[]);
    }
}

#[test]
fn help_states_what_operators_trip_over() {
    let help = |command: &mut clap::Command, path: &[&str]| {
        let mut found = command;
        for name in path {
            found = found.find_subcommand_mut(name).unwrap();
        }
        found.render_help().to_string()
    };
    let mut cli = Cli::command();
    cli.build();
    let tenant = help(&mut cli, &["tenant", "create"]);
    assert!(tenant.contains("cart_token"), "{tenant}");
    let mut api = ApiCli::command();
    let api = api.render_help().to_string();
    assert!(api.contains("shoppers' browsers reach it"), "{api}");
    assert!(api.contains("allow-private-targets"), "{api}");
    assert!(api.contains("email providers"), "{api}");
    let mut worker = WorkerCli::command();
    let worker = worker.render_help().to_string();
    assert!(
        worker.contains("Must exceed the slowest provider call"),
        "{worker}"
    );
    assert!(
        worker.contains("doubled per attempt, at most 1 h"),
        "{worker}"
    );
    // The same sections, in the same words, wherever a group of flags appears.
    for heading in ["Database, logs and master key", "Outbound calls"] {
        assert!(
            api.contains(heading) && worker.contains(heading),
            "{heading}"
        );
    }
}

#[test]
fn durations_parse_down_to_milliseconds() {
    use std::time::Duration;
    assert_eq!(parse_duration("50ms"), Ok(Duration::from_millis(50)));
    assert_eq!(parse_duration("30s"), Ok(Duration::from_secs(30)));
    assert_eq!(parse_duration("2m"), Ok(Duration::from_secs(120)));
    assert_eq!(parse_duration("1h"), Ok(Duration::from_secs(3600)));
    assert_eq!(parse_duration("15"), Ok(Duration::from_secs(15)));
    assert!(parse_duration("soon").is_err());
    assert!(parse_duration("5 parsecs").is_err());
}
