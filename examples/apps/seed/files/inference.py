import shutil

from inferencesh import BaseApp, BaseAppInput, BaseAppOutput, File
from pydantic import Field


class AppInput(BaseAppInput):
    image: File = Field(description="An image")


class AppOutput(BaseAppOutput):
    image: File = Field(description="Generated image")


class App(BaseApp):
    async def run(self, input_data: AppInput, metadata) -> AppOutput:
        image_path = input_data.image.path
        shutil.copyfile(image_path, "/tmp/output.png")
        return AppOutput(image=File(path="/tmp/output.png"))
