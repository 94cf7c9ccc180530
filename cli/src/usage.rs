//! Reading the command line: clap's errors made precise and reported like every other
//! error (`keyward: …` on stderr, and with `--json` the `error` object naming the argument
//! and carrying clap's suggestion), and arguments that are not UTF-8 (a GBK terminal)
//! named instead of crashing on.

use std::ffi::OsString;
use std::process::ExitCode;

use clap::builder::{Arg, Command, ValueParser};
use clap::error::{ContextKind, ContextValue, ErrorKind};
use clap::parser::ArgMatches;
use clap::{CommandFactory, FromArgMatches};

use crate::exit::{Error, Exit};
use crate::output;

/// What the command line asked for, when it is not a command to run.
pub enum Stop {
    /// `--help` or `--version`: printed by clap (exit 0).
    Informational(clap::Error),
    /// A usage error.
    Usage(Error, clap::Error),
}

/// Parses `argv` (with the program name first) into `P`.
pub fn parse_from<P: CommandFactory + FromArgMatches>(argv: &[OsString]) -> Result<P, Stop> {
    let cmd = P::command();
    let result = cmd
        .clone()
        .try_get_matches_from(argv)
        .and_then(|m| P::from_arg_matches(&m));
    result.map_err(|e| {
        if matches!(
            e.kind(),
            ErrorKind::DisplayHelp
                | ErrorKind::DisplayVersion
                | ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand
        ) {
            return Stop::Informational(e);
        }
        let err = if e.kind() == ErrorKind::InvalidUtf8 {
            Error::new("usage", Exit::Usage, non_utf8_message(cmd, argv))
        } else {
            clap_error(&e)
        };
        Stop::Usage(err, e)
    })
}

/// Parses the process's arguments into `P`; on a usage error (or `--help`), reports it and
/// returns the exit code.
pub fn parse<P: CommandFactory + FromArgMatches>() -> Result<P, ExitCode> {
    let argv: Vec<OsString> = std::env::args_os().collect();
    // Arguments are compared as bytes: one that is not UTF-8 must not crash the report.
    let json = argv.iter().skip(1).any(|a| a == "--json");
    match parse_from::<P>(&argv) {
        Ok(p) => Ok(p),
        Err(Stop::Informational(e)) => match e.print() {
            Ok(()) => Err(ExitCode::SUCCESS),
            // The help that was asked for was not written (a full disk, a closed pipe).
            Err(io) => {
                output::report_error(&output::stdout_error(&io), false);
                Err(ExitCode::from(Exit::Other.code()))
            }
        },
        Err(Stop::Usage(err, e)) => {
            if json {
                output::report_error(&err, true);
            } else if e.kind() == ErrorKind::InvalidUtf8 {
                output::report_error(&err, false);
            } else {
                // clap's own rendering adds the usage line and the hints.
                let _ = e.print();
            }
            Err(ExitCode::from(Exit::Usage.code()))
        }
    }
}

/// A clap usage error as one sentence (naming the argument, with clap's tips) and the
/// suggested argument, subcommand or value, if any.
fn clap_error(e: &clap::Error) -> Error {
    let rendered = e.render().to_string();
    let mut lines = rendered.lines().map(str::trim).filter(|l| !l.is_empty());
    let first = lines
        .next()
        .unwrap_or("invalid command line")
        .trim_start_matches("error: ")
        .to_string();
    let tips: Vec<&str> = lines.filter_map(|l| l.strip_prefix("tip: ")).collect();
    let mut message = first;
    for t in tips {
        message.push_str("; ");
        message.push_str(t);
    }
    message.push_str(" (see keyward --help)");
    let suggestion = [
        ContextKind::SuggestedArg,
        ContextKind::SuggestedSubcommand,
        ContextKind::SuggestedValue,
    ]
    .into_iter()
    .find_map(|k| match e.get(k) {
        Some(ContextValue::String(s)) => Some(s.clone()),
        Some(ContextValue::Strings(v)) => v.first().cloned(),
        _ => None,
    });
    let mut err = Error::new("usage", Exit::Usage, message);
    err.suggestion = suggestion;
    err
}

/// Names the argument whose value is not UTF-8: the command line is parsed again with
/// every value kept as raw bytes (and errors ignored), and the argument holding a value
/// that is not UTF-8 is looked up in the matches; arguments that take paths accept any
/// bytes and are skipped.
fn non_utf8_message(mut cmd: Command, argv: &[OsString]) -> String {
    let mut raw = raw_values(cmd.clone());
    cmd.build();
    raw.build();
    let shown = argv
        .iter()
        .skip(1)
        .find(|a| a.to_str().is_none())
        .map_or_else(String::new, |b| format!(" ({:?})", b.to_string_lossy()));
    let terminal = "set the terminal to UTF-8 (on Windows `chcp 65001`; elsewhere a UTF-8 \
         locale such as LANG=C.UTF-8) and type it again";
    let found = raw
        .try_get_matches_from(argv)
        .ok()
        .and_then(|m| find_arg(&cmd, &m, "keyward"));
    match found {
        // Arguments that also read their text from a file: that way avoids the terminal.
        Some((arg, path, true)) => format!(
            "the value of {arg} of `{path}` is not UTF-8 text{shown}: {terminal}, or put the \
             text in a file (in UTF-8) and give the file's path instead"
        ),
        Some((arg, path, false)) => {
            format!("the value of {arg} of `{path}` is not UTF-8 text{shown}: {terminal}")
        }
        None => format!("an argument is not UTF-8 text{shown}: {terminal}"),
    }
}

/// Whether the argument's text may also be given as a file holding it (its help says so).
fn takes_a_file_too(a: &Arg) -> bool {
    a.get_help()
        .is_some_and(|h| h.to_string().contains("a file holding"))
}

/// The command with every value kept as raw bytes, and no error for what is missing.
fn raw_values(cmd: Command) -> Command {
    cmd.ignore_errors(true)
        .mut_args(|a| {
            if a.get_action().takes_values() {
                a.value_parser(ValueParser::os_string())
            } else {
                a
            }
        })
        .mut_subcommands(raw_values)
}

/// The argument (and the command path, and whether it also takes a file) with a value that
/// is not UTF-8, looking in the deepest subcommand first.
fn find_arg(cmd: &Command, m: &ArgMatches, path: &str) -> Option<(String, String, bool)> {
    if let Some((name, sub_m)) = m.subcommand() {
        if let Some(sub) = cmd.find_subcommand(name) {
            if let Some(found) = find_arg(sub, sub_m, &format!("{path} {name}")) {
                return Some(found);
            }
        }
    }
    cmd.get_arguments()
        .filter(|a| a.get_action().takes_values() && !accepts_any_bytes(a))
        .find(|a| {
            m.try_get_raw(a.get_id().as_str())
                .ok()
                .flatten()
                .is_some_and(|mut values| values.any(|v| v.to_str().is_none()))
        })
        .map(|a| (arg_name(a), path.to_string(), takes_a_file_too(a)))
}

/// Paths (and raw OS strings) take any bytes, so they are never the culprit.
pub fn accepts_any_bytes(a: &Arg) -> bool {
    let t = a.get_value_parser().type_id();
    t == ValueParser::path_buf().type_id() || t == ValueParser::os_string().type_id()
}

/// `--code` for an option, `ARTIFACT` for a positional argument.
pub fn arg_name(a: &Arg) -> String {
    match a.get_long() {
        Some(l) => format!("--{l}"),
        None => a
            .get_value_names()
            .and_then(|v| v.first())
            .map_or_else(|| a.get_id().to_string(), ToString::to_string),
    }
}

/// Every argument that takes a value, with the subcommand path that has it (for tests:
/// a new option is covered without listing it).
#[cfg(test)]
fn value_args(cmd: &Command, path: &[String]) -> Vec<(Vec<String>, Arg)> {
    let mut all: Vec<(Vec<String>, Arg)> = cmd
        .get_arguments()
        .filter(|a| a.get_action().takes_values())
        .map(|a| (path.to_vec(), a.clone()))
        .collect();
    for sub in cmd.get_subcommands() {
        let mut p = path.to_vec();
        p.push(sub.get_name().to_string());
        all.extend(value_args(sub, &p));
    }
    all
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::ffi::OsStringExt;

    fn not_utf8() -> OsString {
        OsString::from_vec(b"KA1-\xff".to_vec())
    }

    /// Every option and positional argument of every command, from clap's own description
    /// of the command line (a new option is covered without being listed here), given a
    /// value that is not UTF-8: a usage error naming that argument when it takes text;
    /// accepted when it takes a path.
    #[test]
    fn every_argument_that_is_not_utf8_is_named() {
        let mut cmd = crate::Cli::command();
        cmd.build();
        let all = value_args(&cmd, &[]);
        assert!(all.len() >= 40, "{} arguments", all.len());
        let mut text_args = 0;
        for (path, arg) in all {
            for with_json in [false, true] {
                let mut argv: Vec<OsString> = vec!["keyward".into()];
                argv.extend(path.iter().map(OsString::from));
                if with_json {
                    argv.push("--json".into());
                }
                if let Some(l) = arg.get_long() {
                    argv.push(format!("--{l}").into());
                }
                argv.push(not_utf8());
                let shown = format!("{path:?} {}", arg_name(&arg));
                match parse_from::<crate::Cli>(&argv) {
                    Err(Stop::Usage(err, _)) if !accepts_any_bytes(&arg) => {
                        text_args += 1;
                        assert_eq!(err.exit, Exit::Usage, "{shown}");
                        assert_eq!(err.code, "usage", "{shown}");
                        assert!(
                            err.message.contains(&arg_name(&arg)),
                            "{shown}: {}",
                            err.message
                        );
                        assert!(
                            err.message.contains("not UTF-8"),
                            "{shown}: {}",
                            err.message
                        );
                        // A file is offered as the way around only where it is one.
                        assert_eq!(
                            err.message.contains("the file's path"),
                            takes_a_file_too(&arg),
                            "{shown}: {}",
                            err.message
                        );
                    }
                    Err(Stop::Usage(err, _)) => {
                        assert!(!err.message.contains("UTF-8"), "{shown}: {}", err.message)
                    }
                    Ok(_) => assert!(accepts_any_bytes(&arg), "{shown} accepted"),
                    Err(Stop::Informational(_)) => panic!("{shown}: help"),
                }
            }
        }
        assert!(text_args >= 20, "{text_args}");
    }

    #[test]
    fn usage_errors_name_the_argument_and_carry_the_suggestion() {
        let argv: Vec<OsString> = ["keyward", "keys", "generate", "--out", "k.pem", "--forse"]
            .map(OsString::from)
            .to_vec();
        let Err(Stop::Usage(err, _)) = parse_from::<crate::Cli>(&argv) else {
            panic!("accepted")
        };
        assert!(err.message.contains("--forse"), "{}", err.message);
        assert_eq!(err.suggestion.as_deref(), Some("--force"));
        let argv: Vec<OsString> = ["keyward", "issu"].map(OsString::from).to_vec();
        let Err(Stop::Usage(err, _)) = parse_from::<crate::Cli>(&argv) else {
            panic!("accepted")
        };
        assert_eq!(err.suggestion.as_deref(), Some("issue"));
        let argv: Vec<OsString> = [
            "keyward",
            "issue",
            "--key",
            "k.pem",
            "--product",
            "p",
            "--days",
            "x",
        ]
        .map(OsString::from)
        .to_vec();
        let Err(Stop::Usage(err, _)) = parse_from::<crate::Cli>(&argv) else {
            panic!("accepted")
        };
        assert!(err.message.contains("--days"), "{}", err.message);
    }
}
