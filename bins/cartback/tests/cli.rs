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

#[test]
fn command_lines_are_well_formed() {
    for command in [Cli::command(), ApiCli::command(), WorkerCli::command()] {
        command.clone().debug_assert();
        every_flag_has_an_env_var(&command);
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
