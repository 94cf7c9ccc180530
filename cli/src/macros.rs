//! Printing macros. Results go to standard output through [`crate::output::write_stdout`],
//! which reports a failed write (a full disk, a closed pipe) as an error the caller must
//! handle: a result that was not written is never reported as done. Notes go to standard
//! error and never fail the command.

/// Writes a line of a result on standard output: `outln!(…)?`.
macro_rules! outln {
    () => {
        $crate::output::write_stdout(format_args!("\n"))
    };
    ($($t:tt)*) => {
        $crate::output::write_stdout(format_args!("{}\n", format_args!($($t)*)))
    };
}

/// Writes part of a result on standard output: `out!(…)?`.
macro_rules! out {
    ($($t:tt)*) => {
        $crate::output::write_stdout(format_args!($($t)*))
    };
}

/// `eprintln!` that never panics (a note that cannot be shown is not a failure).
macro_rules! errln {
    ($($t:tt)*) => {{
        use std::io::Write as _;
        let _ = writeln!(std::io::stderr(), $($t)*);
    }};
}
