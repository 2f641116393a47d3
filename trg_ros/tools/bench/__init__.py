"""``trg-ros bench``, in one direction: :mod:`.measure` (timing, tables, machine info) at the
bottom; the runs above it (:mod:`.model`, :mod:`.pipeline`, :mod:`.tflite`, :mod:`.node`,
:mod:`.messages`, :mod:`.plot`); :mod:`.goals` (the full bench and its targets) and
:mod:`.command` (the command line) on top. No module imports one above it."""
