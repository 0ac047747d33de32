"""The `vivavoce` command in a child process: model imports, and training runs followed through their events.

The app does heavy work (training, reading a model to import it) in a child
process: it would otherwise compete with the captions for the interpreter, and
a crash in it would take the window down. The child is the same program with a
subcommand (the frozen app's own executable, or this Python with `-m app.cli`);
a training run reports through its JSON-lines events file (training/events.py),
read here as it grows.
"""

import os
import sys
from collections import deque

from PySide6.QtCore import QObject, QProcess, QProcessEnvironment, QTimer, Signal

from training.events import EventReader, RunRecord

POLL_MS = 250
STOPPED = 130  # the exit code of a run stopped (a signal or its stop file), after it has saved its checkpoint
CRASHED = -1  # killed, crashed, or never started: see error_line()
KEPT_LINES = 1000
NICENESS = 10  # training yields the CPU to live captions (and to everything else the user does)
SIGNALS = sys.platform != "win32"  # POSIX: SIGTERM stops a child; Windows has no such signal


def vivavoce_program() -> tuple[str, list[str]]:
    """The program, and its first arguments, that run the ``vivavoce`` command."""
    if getattr(sys, "frozen", False):  # PyInstaller: the app's own executable takes the CLI's commands
        return sys.executable, []
    return sys.executable, ["-m", "app.cli"]


class Child(QObject):
    """``vivavoce ARGUMENTS`` in a child process, at a lower priority when ``background``."""

    output = Signal(str)  # a line the child printed
    finished = Signal(int)  # its exit code (2: a user error, its line in error_line()), or CRASHED

    def __init__(self, arguments: list[str], background: bool = False, parent: QObject | None = None):
        super().__init__(parent)
        self.arguments = arguments
        self.background = background
        self.lines: deque[str] = deque(maxlen=KEPT_LINES)  # the last lines it printed
        self.start_error = ""
        self._rest = ""
        self.process = QProcess(self)
        self.process.setProcessChannelMode(QProcess.ProcessChannelMode.MergedChannels)
        environment = QProcessEnvironment.systemEnvironment()
        environment.insert("PYTHONUNBUFFERED", "1")  # its lines arrive as they are printed
        self.process.setProcessEnvironment(environment)
        self.process.readyReadStandardOutput.connect(self._read_output)
        self.process.finished.connect(self._on_finished)
        self.process.errorOccurred.connect(self._on_error)
        self.timer = QTimer(self)
        self.timer.setInterval(POLL_MS)
        self.timer.timeout.connect(self.poll)

    def start(self) -> None:
        program, first = vivavoce_program()
        self.process.start(program, [*first, *self.arguments])
        if not self.process.waitForStarted(10_000):
            return  # errorOccurred has reported why
        if self.background and hasattr(os, "setpriority"):
            # At once, before the child loads torch and starts its threads and data workers, which
            # inherit the priority. Lowering a priority needs no permission.
            try:
                os.setpriority(os.PRIO_PROCESS, self.process.processId(),
                               min(os.getpriority(os.PRIO_PROCESS, 0) + NICENESS, 19))
            except OSError:  # it has already exited
                pass
        self.timer.start()

    @property
    def running(self) -> bool:
        return self.process.state() != QProcess.ProcessState.NotRunning

    def stop(self) -> None:
        """Ask the child to stop (a training run saves a checkpoint at the end of the step it is in)."""
        if self.running:
            if SIGNALS:
                self.process.terminate()
            else:
                self.process.kill()

    def wait(self, milliseconds: int) -> bool:
        """Block until the child has exited (True) or ``milliseconds`` have passed."""
        done = self.process.waitForFinished(milliseconds)
        self.poll()
        return done or not self.running

    def poll(self) -> None:
        """Read what the child has reported besides its output (see TrainingRun)."""

    def error_line(self) -> str:
        """What went wrong, in one line: the last error the child printed."""
        if self.start_error:
            return self.start_error
        prefix = "vivavoce: error: "
        for line in reversed(self.lines):
            if line.startswith(prefix):
                return line[len(prefix):]
        return ""

    def _read_output(self) -> None:
        text = self._rest + bytes(self.process.readAllStandardOutput()).decode("utf-8", "replace")
        *lines, self._rest = text.replace("\r", "\n").split("\n")
        for line in lines:
            if line.strip():
                self.lines.append(line)
                self.output.emit(line)

    def _on_finished(self, code: int, status: QProcess.ExitStatus) -> None:
        self.timer.stop()
        self._read_output()
        self.poll()
        self.finished.emit(CRASHED if status == QProcess.ExitStatus.CrashExit else code)

    def _on_error(self, error: QProcess.ProcessError) -> None:
        if error == QProcess.ProcessError.FailedToStart:
            program, _ = vivavoce_program()
            self.start_error = f"{program}: the program could not be started ({self.process.errorString()})"
            self.timer.stop()
            self.finished.emit(CRASHED)


class TrainingRun(Child):
    """``vivavoce train STAGE ARGUMENTS`` in the background; ``record`` says where it stands."""

    changed = Signal()  # new events arrived: see .record

    def __init__(self, stage: str, arguments: list[str], events: str, stop_file: str,
                 parent: QObject | None = None):
        super().__init__(["train", stage, *arguments], background=True, parent=parent)
        self.reader = EventReader(events)
        self.record = RunRecord()
        self.stop_file = stop_file
        try:  # left by a run stopped as its process died: it would stop this one at its first step
            os.remove(stop_file)
        except FileNotFoundError:
            pass

    def stop(self) -> None:
        """Ask the run to stop: it ends the step it is in, saves a checkpoint and exits with STOPPED.
        The request is the run's stop file (training.config.stop_file), which works everywhere;
        where there are signals, SIGTERM as well, which also stops a run still starting up."""
        if not self.running:
            return
        try:
            with open(self.stop_file, "w", encoding="utf-8") as request:
                request.write("stop\n")
        except OSError:  # its folder is not made yet (the run is starting): only the signal can stop it
            if not SIGNALS:
                self.process.kill()
        if SIGNALS:
            self.process.terminate()

    def poll(self) -> None:
        events = self.reader.read()
        for event in events:
            self.record.add(event)
        if events:
            self.changed.emit()

    def error_line(self) -> str:
        """The run's error event, else the last error it printed."""
        return self.start_error or self.record.error or super().error_line()
