# PyInstaller runtime hook: runs inside the bundle before main.py.
# Models default to the user's data folder (never the bundle) and extras folders go on sys.path;
# the logic lives in core/config/frozen.py so it is tested from source.
from core.config.frozen import prepare

prepare()
